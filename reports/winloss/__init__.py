"""Win/loss: deals closed by outcome and reason, and what sales said no to and why."""
