"""Playbooks in the API: the same JSON the builder saves."""

from rest_framework import serializers

from playbooks.models import Enrollment, Playbook


class PlaybookIn(serializers.Serializer):
    """Shapes are checked by the engine (playbooks.engine.shape), which names each field at fault."""

    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True)
    trigger = serializers.JSONField(required=False, help_text='{"type": "stage_entered", "stage": "mql"} …')
    steps = serializers.JSONField(
        required=False, help_text='[{"type": "wait", "days": 2}, {"type": "email", "template": 3}]'
    )
    exits = serializers.JSONField(required=False, help_text='[{"type": "stage_reached", "stage": "opportunity"}]')
    reentry = serializers.CharField(required=False)
    reentry_days = serializers.IntegerField(required=False, allow_null=True)


class PlaybookOut(serializers.ModelSerializer):
    class Meta:
        model = Playbook
        fields = [
            "id",
            "name",
            "description",
            "status",
            "trigger",
            "steps",
            "exits",
            "reentry",
            "reentry_days",
            "promotional",
            "created_at",
            "updated_at",
            "activated_at",
        ]


class StepRunOut(serializers.Serializer):
    step = serializers.CharField()
    outcome = serializers.CharField()
    detail = serializers.CharField()
    ran_at = serializers.DateTimeField()
    email = serializers.IntegerField(source="email_id", allow_null=True)


class EnrollmentOut(serializers.ModelSerializer):
    playbook_name = serializers.CharField(source="playbook.name")
    step_runs = StepRunOut(many=True)

    class Meta:
        model = Enrollment
        fields = [
            "id",
            "playbook",
            "playbook_name",
            "status",
            "position",
            "due_at",
            "cause",
            "entered_at",
            "finished_at",
            "exit_reason",
            "step_runs",
        ]


class DryRunStepOut(serializers.Serializer):
    at = serializers.DateTimeField()
    step = serializers.CharField()
    type = serializers.CharField()
    what = serializers.CharField()
    refused = serializers.CharField(required=False)


class DryRunLeadOut(serializers.Serializer):
    id = serializers.IntegerField(source="lead.pk")
    email = serializers.EmailField(source="lead.email")
    stage = serializers.CharField(source="lead.stage")
    steps = DryRunStepOut(many=True)


class DryRunOut(serializers.Serializer):
    entering = serializers.IntegerField(help_text="How many leads would enter now.")
    capped = serializers.BooleanField(help_text="True when more than 100,000 were counted.")
    source = serializers.CharField(help_text="Which leads the trigger takes, in words.")
    shown = serializers.IntegerField()
    horizon_days = serializers.IntegerField()
    emails_among_shown = serializers.DictField(child=serializers.IntegerField())
    leads = DryRunLeadOut(many=True)
