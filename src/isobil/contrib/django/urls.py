"""URL patterns of the provider callbacks, to include under any prefix:

.. code-block:: python

    urlpatterns = [path("sms/callbacks/", include("isobil.contrib.django.urls"))]

Every path below the prefix goes to the callback view (``…/dlr``, ``…/<token>/mo``).
"""

from django.urls import path

from isobil.contrib.django.views import callback

app_name = "isobil"
urlpatterns = [
    path("", callback, name="callback"),
    path("<path:rest>", callback, name="callback"),
]
