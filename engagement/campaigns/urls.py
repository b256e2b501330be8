"""Campaign URLs, mounted at /campaigns/ inside the `engagement` namespace."""

urlpatterns: list = []
