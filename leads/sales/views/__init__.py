"""The sales pages, a module each: `queue` (My queue, claiming, and the rep's actions on the
lead page), `deals`, `notifications`, `handoff` (handing a lead to sales by hand) and `teams`
(reps, capacity, time away and the assignment rules, for managers).

Thin views over leads.sales.queue, worklog, deals, teams and notifications: parse, check who
may (a rep works only their own leads and deals; another rep's answers 404), call one service,
render. Actions answer htmx with the part of the page they change; without htmx they redirect
with a message. A SalesError from a service becomes a 4xx with its message on the field.
"""
