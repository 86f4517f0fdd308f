"""URLs of the web pages (mounted at the site root; the API stays under ``/api/``)."""

from django.urls import path

from celltrial.edc.web import (
    views,
    views_accounts,
    views_admin,
    views_crf,
    views_dsmb,
    views_followup,
    views_monitor,
)

urlpatterns = [
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("static/edc/style.css", views.stylesheet, name="stylesheet"),
    path("", views.home, name="home"),
    path("screen", views.screen, name="screen"),
    path("p/<str:code>", views.participant, name="participant"),
    path("p/<str:code>/consent", views.consent, name="consent"),
    path("p/<str:code>/enroll", views.enroll, name="enroll"),
    path("p/<str:code>/randomize", views.randomize, name="randomize"),
    path("p/<str:code>/visit/<str:visit>", views.visit_done, name="visit_done"),
    path("p/<str:code>/measure", views.measure, name="measure"),
    path("p/<str:code>/ae", views.adverse_event, name="adverse_event"),
    path("p/<str:code>/medications", views_crf.medications, name="medications"),
    path("p/<str:code>/history", views_crf.history, name="history"),
    path("p/<str:code>/ae/<int:ae_id>/sae-report", views.sae_report, name="sae_report"),
    path("p/<str:code>/edit/<str:table>/<int:record_id>", views.edit, name="edit"),
    path(
        "p/<str:code>/in-error/<str:table>/<int:record_id>",
        views.entered_in_error,
        name="entered_in_error",
    ),
    path("pharmacy", views.pharmacy, name="pharmacy"),
    path("pharmacy/p/<str:code>", views.dose, name="dose"),
    path("dsmb", views.dsmb, name="dsmb"),
    path("dsmb/report", views_dsmb.closed_report, name="dsmb_report"),
    # Monitoring: queries, locks, a record's audit trail, the investigator's signature.
    path("dashboard", views.home, name="dashboard"),
    path("queries", views_monitor.queries, name="queries"),
    path("queries/<int:query_id>", views_monitor.query, name="query"),
    path("p/<str:code>/record/<str:table>/<int:record_id>", views_monitor.record, name="record"),
    path("p/<str:code>/visit/<str:visit>/sign", views_monitor.sign, name="sign_visit"),
    path("export", views_monitor.export_page, name="export"),
    path("export/download", views_monitor.export_download, name="export_download"),
    # Administration (admin only): the admin's home, sites, users and roles, the protocol.
    path("manage", views_admin.manage, name="manage"),
    path("manage/sites", views_admin.sites, name="manage_sites"),
    path("manage/sites/<str:site>/time-zone", views_crf.site_time_zone, name="site_time_zone"),
    path("manage/staff", views_admin.staff_list, name="manage_staff"),
    path("manage/staff/<str:username>", views_admin.person, name="manage_person"),
    path("manage/protocol", views_admin.protocol, name="manage_protocol"),
    # Accounts (Part 11): one's own password, the user-access list; emergency unblinding;
    # a new site's allocation list.
    path("account/password", views_accounts.password, name="account_password"),
    path("manage/access.csv", views_accounts.access_csv, name="manage_access_csv"),
    path("manage/allocation", views_accounts.allocation, name="manage_allocation"),
    path("p/<str:code>/unblind", views_accounts.unblind, name="unblind"),
    # Follow-up and leaving the trial: withdrawal, lost to follow-up, death; completion,
    # clinical events, deviations, a visit not done.
    path("p/<str:code>/leave", views_followup.leave, name="leave"),
    path("p/<str:code>/complete", views_followup.complete, name="complete"),
    path("p/<str:code>/event", views_followup.clinical_event, name="clinical_event"),
    path("p/<str:code>/deviation", views_followup.deviation, name="deviation"),
    path(
        "p/<str:code>/visit/<str:visit>/not-done",
        views_followup.visit_not_done,
        name="visit_not_done",
    ),
]
