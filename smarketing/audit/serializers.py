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
    since = serializers.DateField(required=False, help_text="The first day, in the instance's time zone.")
    until = serializers.DateField(required=False, help_text="The last day, included.")
    q = serializers.CharField(required=False, max_length=MAX_SEARCH, help_text="Part of the object's or person's name.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            raise serializers.ValidationError({"until": ["The last day cannot come before the first."]})
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
