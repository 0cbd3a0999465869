"""The versioned REST API's router; each app registers its viewsets here."""

from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api

router = DefaultRouter()
router.register("accounts", accounts_api.AccountViewSet, basename="account")
router.register("contacts", accounts_api.ContactViewSet, basename="contact")
router.register("contact-points", accounts_api.ContactPointViewSet, basename="contactpoint")
router.register("interactions", accounts_api.InteractionViewSet, basename="interaction")
