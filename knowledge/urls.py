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
]
