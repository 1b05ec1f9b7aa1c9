from playbooks.models.email import EmailTemplate, OutboundEmail, Suppression, TemplateKind

__all__ = ["EmailTemplate", "OutboundEmail", "Suppression", "TemplateKind"]
