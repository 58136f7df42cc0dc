"""The polls_service API: delegators read causes, polls and results; operators also write."""
