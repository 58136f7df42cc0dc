"""Permissions shared by the services' APIs."""

from rest_framework.permissions import BasePermission


class IsOperator(BasePermission):
    message = "Only operators may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "is_operator", False))
