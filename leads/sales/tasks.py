"""The sales side's Celery tasks: handing qualified leads over, the speed-to-lead clock, recycled
leads' return, email digests."""

from celery import shared_task

from leads.sales import assignment, notifications, speed_to_lead, worklog


@shared_task(name="sales.handoffs_follow")
def handoffs_follow_task() -> int:
    return assignment.handoffs_follow_history()


@shared_task(name="sales.speed_to_lead")
def sla_check_task() -> dict[str, int]:
    return speed_to_lead.sla_check()


@shared_task(name="sales.revisit_recycled")
def leads_revisit_task() -> int:
    return worklog.leads_revisit_due()


@shared_task(name="sales.notifications_email")
def notifications_email_task(user_ids: list[int]) -> int:
    return notifications.notifications_email(user_ids=user_ids)
