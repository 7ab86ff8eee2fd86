"""URLs: the JSON API under /api/ (errors are JSON there, unknown paths included), Django's login and logout
pages under /accounts/, the admin, and the browser app everywhere else. Both of Django's login pages count
against the API's sign-in limits."""

from django.contrib import admin
from django.contrib.auth import views as auth
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from harmony_split.backend.tracks import auth_views, errors, frontend, player_views, views
from harmony_split.backend.tracks.throttles import sign_in_limited

api = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/health/", views.Health.as_view(), name="health"),
    path("api/auth/token/", auth_views.ObtainToken.as_view(), name="auth-token"),
    path("api/auth/me/", auth_views.Me.as_view(), name="auth-me"),
    path("api/auth/login/", auth_views.Login.as_view(), name="auth-login"),
    path("api/auth/logout/", auth_views.Logout.as_view(), name="auth-logout"),
    path("api/models/", views.ModelList.as_view(), name="models"),
    path("api/tracks/", views.TrackList.as_view(), name="tracks"),
    path("api/tracks/<uuid:pk>/", views.TrackDetail.as_view(), name="track"),
    path("api/tracks/<uuid:pk>/cancel/", player_views.Cancel.as_view(), name="track-cancel"),
    path("api/tracks/<uuid:pk>/stems/mixture", player_views.MixtureDownload.as_view(), name="track-mixture"),
    path("api/tracks/<uuid:pk>/stems/<str:stem>", views.StemDownload.as_view(), name="track-stem"),
    path("api/tracks/<uuid:pk>/download", views.ZipDownload.as_view(), name="track-download"),
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
