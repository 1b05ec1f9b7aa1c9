from rest_framework import serializers


class EraseIn(serializers.Serializer):
    confirm = serializers.BooleanField(help_text="Must be true: the erasure cannot be undone.")

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Send true to erase: the erasure cannot be undone.")
        return value


class ErasureOut(serializers.Serializer):
    lead = serializers.IntegerField(source="lead_id")
    erased_at = serializers.DateTimeField()
    erased_by = serializers.CharField(source="erased_by.get_username", default=None, allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Rows scrubbed, by kind.")
    already_erased = serializers.BooleanField(help_text="True when an earlier request had erased it.")
