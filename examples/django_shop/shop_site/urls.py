"""The shop's URLs; the SMS provider pushes its reports and the customers' replies to
``/sms/callbacks/``."""

from django.urls import include, path

urlpatterns = [
    path("orders/", include("orders.urls")),
    path("sms/callbacks/", include("isobil.contrib.django.urls")),
]
