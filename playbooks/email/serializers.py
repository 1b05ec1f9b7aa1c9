from rest_framework import serializers

from playbooks.email.rules import REASONS
from playbooks.models import EmailTemplate, OutboundEmail, TemplateKind


class EmailTemplateIn(serializers.Serializer):
    """Shapes only; the rules (unique name, known variables, lengths) are the service's."""

    name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    kind = serializers.ChoiceField(choices=TemplateKind.choices, required=False)
    subject = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class EmailTemplateOut(serializers.ModelSerializer):
    class Meta:
        model = EmailTemplate
        fields = ["id", "name", "kind", "subject", "body", "created_at", "updated_at"]


class LeadEmailOut(serializers.ModelSerializer):
    """One send to a lead: what it was, what became of it, and why when it was refused."""

    template = serializers.CharField(source="template.name", default=None, allow_null=True)
    reason_text = serializers.SerializerMethodField()

    class Meta:
        model = OutboundEmail
        fields = [
            "id",
            "template",
            "kind",
            "subject",
            "status",
            "reason",
            "reason_text",
            "cause",
            "created_at",
            "sent_at",
            "opened_at",
            "clicked_at",
        ]

    def get_reason_text(self, email: OutboundEmail) -> str:
        return REASONS.get(email.reason, email.detail)
