"""The pages under /reports/."""

from django.urls import path

from reports import views
from reports.attribution import views as attribution_views
from reports.dashboard import views as dashboard_views
from reports.funnel import views as funnel_views
from reports.pack import views as pack_views
from reports.winloss import views as winloss_views

app_name = "reports"
urlpatterns = [
    path("agreement/", views.agreement_page, name="agreement"),
    path("agreement/edit/", views.agreement_edit, name="agreement_edit"),
    path("roi/", attribution_views.roi_page, name="roi"),
    path("campaigns/<int:pk>/roi/", attribution_views.campaign_roi, name="campaign-roi"),
    path("win-loss/", winloss_views.win_loss_page, name="win-loss"),
    path("funnel/", funnel_views.funnel_page, name="funnel"),
    path("meeting-packs/", pack_views.meeting_packs_page, name="meeting-packs"),
    path("meeting-packs/build/", pack_views.meeting_pack_build, name="meeting-pack-build"),
    path("meeting-packs/<str:week>/", pack_views.meeting_pack_page, name="meeting-pack"),
    path("meeting-packs/<str:week>/csv/", pack_views.meeting_pack_csv, name="meeting-pack-csv"),
    path("meeting-packs/<str:week>/actions/", pack_views.action_item_add, name="action-item-add"),
    path("meeting-packs/<str:week>/actions/<int:pk>/assign/", pack_views.action_item_assign, name="action-item-assign"),
    path("meeting-packs/<str:week>/actions/<int:pk>/close/", pack_views.action_item_close, name="action-item-close"),
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/leads/", dashboard_views.dashboard_leads, name="dashboard-leads"),
]
