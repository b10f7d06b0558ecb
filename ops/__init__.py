"""What an operator runs against the local cloud (``python -m ops <command>``): the stack served
for a person, its emails, a campaign rehearsed on the operator's own members, and the demo."""

import sys
from pathlib import Path

# the commands read a stack's tables with the layer's own code, as its functions do (Lambda puts
# the layer on their path; here it is put on ours)
LAYER = Path(__file__).resolve().parent.parent / "layers" / "common"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))
