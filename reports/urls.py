"""The pages under /reports/."""

from django.urls import path

from reports import views
from reports.attribution import views as attribution_views
from reports.funnel import views as funnel_views
from reports.winloss import views as winloss_views

app_name = "reports"
urlpatterns = [
    path("agreement/", views.agreement_page, name="agreement"),
    path("agreement/edit/", views.agreement_edit, name="agreement_edit"),
    path("roi/", attribution_views.roi_page, name="roi"),
    path("win-loss/", winloss_views.win_loss_page, name="win-loss"),
    path("funnel/", funnel_views.funnel_page, name="funnel"),
]
