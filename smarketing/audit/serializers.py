from typing import Any

from rest_framework import serializers

from smarketing.audit.forms import MAX_SEARCH
from smarketing.audit.models import ConfigChange, ConfigKind

MAX_ID = 2**63 - 1  # a bigint: larger ids exist nowhere, and PostgreSQL refuses to compare them


class ChangeQueryIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConfigKind.choices, required=False)
    object_id = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="With `kind`: one object's history."
    )
    actor = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="The id of the user who made the change."
    )
    start = serializers.DateField(required=False, help_text="YYYY-MM-DD, the first day, in the instance's time zone.")
    end = serializers.DateField(required=False, help_text="YYYY-MM-DD, the last day, included.")
    q = serializers.CharField(required=False, max_length=MAX_SEARCH, help_text="Part of the object's or person's name.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")  # as the reports name them
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("from") and data.get("to") and data["to"] < data["from"]:
            raise serializers.ValidationError({"to": ["The last day cannot come before the first."]})
        return data


class ChangeOut(serializers.ModelSerializer):
    class Meta:
        model = ConfigChange
        fields = [
            "id",
            "at",
            "actor",
            "actor_name",
            "source",
            "action",
            "kind",
            "object_id",
            "object_label",
            "before",
            "after",
        ]
