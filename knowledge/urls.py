"""The knowledge panel of the agent desk (mounted under /desk/knowledge/)."""

from django.urls import path

from knowledge import views

app_name = "knowledge"
urlpatterns = [
    path("", views.panel, name="panel"),
    path("results/", views.results, name="results"),
    path("email/", views.email_search, name="email_search"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/send/", views.send, name="send"),
    path("<int:pk>/feedback/", views.feedback, name="feedback"),
    path("<int:pk>/link/", views.link, name="link"),
    path("tickets/<int:ticket_pk>/", views.ticket_solutions, name="ticket_solutions"),
    path("tickets/<int:ticket_pk>/suggest/", views.ticket_suggest, name="ticket_suggest"),
    path("tickets/<int:ticket_pk>/link/", views.ticket_link, name="ticket_link"),
    path("tickets/<int:ticket_pk>/unlink/", views.ticket_unlink, name="ticket_unlink"),
    path("tickets/<int:ticket_pk>/propose/", views.ticket_propose, name="ticket_propose"),
    path("proposals/<int:pk>/", views.proposal, name="proposal"),
]
