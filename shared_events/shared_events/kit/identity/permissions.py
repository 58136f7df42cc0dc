"""Permissions shared by the services' APIs."""

from rest_framework.permissions import BasePermission

from .standing import OPERATOR

NO_LONGER_OPERATOR = (
    "This account is no longer an active operator: accounts has demoted or "
    "deactivated it since this token was issued."
)


class IsOperator(BasePermission):
    message = "Only operators may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if getattr(user, "is_operator", False):
            return True
        claims = getattr(user, "claims", None)
        if claims is not None and claims.role == OPERATOR:
            # DRF creates the permissions per request, so the message is this caller's.
            self.message = NO_LONGER_OPERATOR
        return False
