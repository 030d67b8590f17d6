"""A minimal Django project for tests/test_contrib_django.py: isobil workers on
PostgreSQL with a transport that writes down what it sent."""
