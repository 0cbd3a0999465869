"""The public self-service pages (mounted under /help/, no login)."""

from django.urls import path

from knowledge import views

app_name = "help"
urlpatterns = [
    path("", views.public_search, name="search"),
    path("<int:pk>/", views.public_detail, name="detail"),
    path("<int:pk>/feedback/", views.public_feedback, name="feedback"),
    path("contact/", views.public_contact, name="contact"),
]
