"""What an operator runs against the local cloud (``python -m ops <command>``): the stack served
for a person, its emails, a campaign rehearsed on the operator's own members, and the demo."""
