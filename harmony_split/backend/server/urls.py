"""URLs: the JSON API under /api/ (errors are JSON there, unknown paths included), Django's login and logout
pages under /accounts/, the admin, and the browser app everywhere else. Both of Django's login pages count
against the API's sign-in limits."""

from django.contrib import admin
from django.contrib.auth import views as auth
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DynamicRoute, SimpleRouter

from harmony_split.backend.tracks import auth_views, errors, frontend, views
from harmony_split.backend.tracks.throttles import sign_in_limited


class ApiRouter(SimpleRouter):
    """DRF's router with Django path converters (``<uuid:pk>``). A list or detail path ends with ``/``; an action's
    ``url_path`` carries its own ending (``cancel/``, ``download``, ``stems/<str:stem>``), so that the API keeps
    its paths exactly, with no alias (no ``.json`` suffix, no API root view)."""

    routes = [route._replace(url=route.url.replace("{url_path}{trailing_slash}", "{url_path}"))
              if isinstance(route, DynamicRoute) else route for route in SimpleRouter.routes]

    def __init__(self) -> None:
        super().__init__(trailing_slash=True, use_regex_path=False)


router = ApiRouter()
router.register("api/tracks", views.TrackViewSet, basename="track")

api = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/health/", views.Health.as_view(), name="health"),
    path("api/auth/token/", auth_views.ObtainToken.as_view(), name="auth-token"),
    path("api/auth/me/", auth_views.Me.as_view(), name="auth-me"),
    path("api/auth/login/", auth_views.Login.as_view(), name="auth-login"),
    path("api/auth/logout/", auth_views.Logout.as_view(), name="auth-logout"),
    path("api/models/", views.ModelList.as_view(), name="models"),
    path("api/models/<str:model_id>/onnx/<str:digest>.onnx", views.ModelOnnx.as_view(), name="model-onnx"),
    *router.urls,  # /api/tracks/, <uuid>/, <uuid>/cancel/, <uuid>/stems/<stem>, <uuid>/download
]

urlpatterns = [
    *api,
    re_path(r"^api(/.*)?$", errors.not_found),
    path("accounts/login/", sign_in_limited(auth.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path("admin/login/", sign_in_limited(admin.site.login)),  # before the admin's own, unlimited, login URL
    path("admin/", admin.site.urls),
    re_path(r"^(?!api/|admin/|accounts/|static/)(?P<path>.*)$", frontend.index, name="frontend"),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.not_found
handler500 = errors.server_error
