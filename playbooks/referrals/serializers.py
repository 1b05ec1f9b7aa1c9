from rest_framework import serializers

from playbooks.models import Referral


class ReferralQueryIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Referral.Status.choices,
        required=False,
        allow_blank=True,
        error_messages={"invalid_choice": "“{input}” is no status; use pending, earned or paid."},
    )


class ReferralOut(serializers.ModelSerializer):
    """One referral: whose code brought which lead, and where its credit stands."""

    code = serializers.CharField(source="referrer.code")
    lead_id = serializers.IntegerField(source="lead.id")
    lead_email = serializers.EmailField(source="lead.email")
    paid_by = serializers.CharField(source="paid_by.username", default=None, allow_null=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "code",
            "lead_id",
            "lead_email",
            "status",
            "credit",
            "created_at",
            "earned_at",
            "paid_at",
            "paid_by",
        ]
