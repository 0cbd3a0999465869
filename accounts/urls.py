"""Desk URLs of customer service (tickets, callbacks, messages), mounted under /desk/."""

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("tickets/", views.ticket_list, name="ticket_list"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/<int:ticket_pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:ticket_pk>/edit/", views.ticket_edit, name="ticket_edit"),
    path("tickets/<int:ticket_pk>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:ticket_pk>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:ticket_pk>/messages/", views.ticket_message, name="ticket_message"),
    path("tickets/<int:ticket_pk>/files/", views.ticket_attachment_upload, name="ticket_upload"),
    path("tickets/<int:ticket_pk>/outage/", views.ticket_link_outage, name="ticket_link_outage"),
    path("accounts/<int:account_pk>/systems/", views.systems_panel, name="systems_panel"),
    path("accounts/<int:account_pk>/line-test/", views.line_test, name="line_test"),
    path("accounts/<int:account_pk>/reach/", views.reach_panel, name="reach_panel"),
    path("guidance/<int:rule_pk>/script/", views.guidance_script, name="guidance_script"),
    path("tickets/<int:ticket_pk>/slots/", views.appointment_slots, name="appointment_slots"),
    path("tickets/<int:ticket_pk>/appointments/", views.appointment_book, name="appointment_book"),
    path(
        "appointments/<int:appointment_pk>/<slug:action>/",
        views.appointment_change,
        name="appointment_change",
    ),
    path(
        "accounts/<int:account_pk>/duplicates/",
        views.duplicates_panel,
        name="duplicates_panel",
    ),
    path("accounts/<int:account_pk>/merge/", views.account_merge, name="account_merge"),
    path("merges/<int:merge_pk>/undo/", views.account_merge_undo, name="account_merge_undo"),
    path("presence/<slug:kind>/<int:object_id>/", views.presence, name="presence"),
    path(
        "presence/<slug:kind>/<int:object_id>/leave/",
        views.presence_leave,
        name="presence_leave",
    ),
    path("callbacks/new/", views.callback_create, name="callback_create"),
    path("messages/preview/", views.message_preview, name="message_preview"),
    path("messages/send/", views.message_send, name="message_send"),
    path(
        "ticket-files/<int:attachment_pk>/",
        views.ticket_attachment_download,
        name="ticket_download",
    ),
]
