from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from icenter.desk import views as desk_views
from icenter.views import LogoutView
from telephony import views as telephony_views
from telephony import wallboard as telephony_wallboard

from .api_urls import router

admin.site.site_header = "icenter"
admin.site.site_title = "icenter"

urlpatterns = [
    path("", desk_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/scripts/", include("scripting.urls")),
    path("desk/knowledge/", include("knowledge.urls")),
    path("desk/calllists/", include("campaigns.urls")),
    path("desk/", include("icenter.desk.urls")),
    path("desk/", include("accounts.urls")),
    path("help/", include("knowledge.public_urls")),
    path("admin/", admin.site.urls),
    path("wallboard/", telephony_wallboard.wallboard, name="wallboard"),
    path(
        "wallboard/agents/<int:agent_pk>/state/",
        telephony_wallboard.wallboard_agent_state,
        name="wallboard_agent_state",
    ),
    path("cti/events/", telephony_views.cti_event, name="cti_event"),
    path("cti/kamailio/route/", telephony_views.kamailio_route, name="cti_kamailio_route"),
    path("cti/kamailio/events/", telephony_views.kamailio_event, name="cti_kamailio_event"),
    path("cti/simulator/calls/", telephony_views.simulator_call, name="cti_simulator_call"),
    path("api/<str:version>/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/<str:version>/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("api/<str:version>/", include(router.urls)),
]
