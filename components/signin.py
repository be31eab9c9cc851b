"""The sign-in page: plain HTML served by Flask, so a signed-out visitor loads nothing of
the app (no callbacks, no component bundles, no library versions)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import render_template_string

from data.i18n import _, current_language

DEFAULT_TARGET = "/customers"

PAGE = """<!DOCTYPE html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ sign_in }} · Countersign</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css">
<link rel="stylesheet" href="/assets/style.css">
</head>
<body class="app-shell">
<header class="navbar navbar-dark bg-dark mb-4">
  <div class="container-fluid">
    <span class="navbar-brand"><span class="brand-mark">✓</span>Countersign</span>
  </div>
</header>
<main class="container">
  <div class="row justify-content-center">
    <div class="col-md-6 col-lg-4">
      <div class="card shadow-sm mt-5">
        <div class="card-body">
          <h1 class="h4 mb-3">{{ sign_in }}</h1>
          <div id="login-message" role="alert">
            {%- if message %}<div class="alert alert-danger mb-3">{{ message }}</div>{% endif -%}
          </div>
          <form method="post" action="/login" novalidate>
            <input type="hidden" name="csrf" value="{{ csrf }}">
            <input type="hidden" name="next" value="{{ target }}">
            <label class="form-label" for="login-username">{{ user_name }}</label>
            <input class="form-control mb-3" id="login-username" name="username"
                   autocomplete="username" {{ "" if username else "autofocus" }} required
                   maxlength="100"
                   value="{{ username }}">
            <label class="form-label" for="login-password">{{ password }}</label>
            <input class="form-control mb-3" id="login-password" name="password"
                   type="password" autocomplete="current-password" required maxlength="256"
                   {{ "autofocus" if username else "" }}>
            <button class="btn btn-primary w-100" id="login-button" type="submit">
              {{- sign_in -}}
            </button>
          </form>
        </div>
      </div>
    </div>
  </div>
</main>
</body>
</html>
"""


def signin_page(
    *,
    csrf: str,
    target: str,
    username: str = "",
    message: str | None = None,
    language: str | None = None,
):
    return render_template_string(
        PAGE, csrf=csrf, target=target, username=username, message=message,
        language=language or current_language(), sign_in=_("Sign in"), user_name=_("User name"),
        password=_("Password"),
    )  # fmt: skip


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this app, else the customer list.

    Browsers read ``/\\host``, ``/\\t/host`` or ``//host`` as another host, and
    drop tabs and newlines before they do: a target survives only as a plain
    absolute path, checked as given and once more decoded.
    """
    if not target:
        return DEFAULT_TARGET
    for candidate in (target, unquote(target)):
        if any(ch == "\\" or ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in candidate):
            return DEFAULT_TARGET
        if not candidate.startswith("/") or candidate.startswith("//"):
            return DEFAULT_TARGET
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return DEFAULT_TARGET
        if parts.path.rstrip("/") in ("/login", "/logout"):
            return DEFAULT_TARGET
    return target
