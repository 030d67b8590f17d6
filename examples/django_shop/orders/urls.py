"""URLs of the orders endpoints."""

from django.urls import path

from orders import views

urlpatterns = [
    path("", views.create_order, name="create-order"),
    path("<int:order_id>/", views.show_order, name="show-order"),
    path("<int:order_id>/shipped", views.order_shipped, name="order-shipped"),
]
