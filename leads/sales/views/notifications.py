"""Notifications: the list, marking read, and the top bar's bell."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leads.sales import notifications

NOTIFICATIONS_PER_PAGE = 50


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    rows = notifications.notifications_for(request.user, unread_only=unread_only).order_by("-created_at", "-id")
    page = Paginator(rows, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    unread = notifications.notifications_unread_count(request.user)
    context = {"page": page, "unread_only": unread_only, "unread": unread}
    return render(request, "leads/sales/notifications.html", context)


@require_POST
@login_required
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one (`id`) or all of the user's notifications read; another user's id marks nothing."""
    raw = request.POST.get("id")
    if raw is not None and not raw.isdigit():
        return HttpResponse("Give the notification's id as a number.", status=400)
    ids = [int(raw)] if raw is not None else None
    marked = notifications.notifications_mark_read(user=request.user, ids=ids)
    if request.htmx and ids:
        note = get_object_or_404(notifications.notifications_for(request.user), pk=ids[0])
        context = {"note": note, "unread": notifications.notifications_unread_count(request.user)}
        return render(request, "leads/sales/snippets/notification_read.html", context)
    text = f"Marked {marked} notification{'s' if marked != 1 else ''} read." if marked else "Nothing was unread."
    messages.success(request, text)
    return redirect("leads:notifications")


@login_required
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell with the unread count; base.html loads it after the page, so pages
    themselves spend no query on it."""
    count = notifications.notifications_unread_count(request.user)
    return render(request, "leads/sales/snippets/bell.html", {"unread": count, "loaded": True})
