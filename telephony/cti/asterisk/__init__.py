"""The Asterisk adapter: call control and events over the Asterisk Manager Interface (AMI).

- `protocol`: the AMI wire format (frames), tolerant of bad input;
- `client`: a small blocking AMI client (no third-party library: panoramisk, the usual
  choice, has had no release since 2021 and is asyncio-only, while the adapter contract
  is synchronous);
- `adapter`: `AsteriskAdapter`, the CtiAdapter commands as AMI actions;
- `translate`: AMI events → CallEvents;
- `bridge`: the long-running event reader behind `manage.py cti_bridge`.

The Asterisk side (manager.conf, dialplan) is in deploy/asterisk/.
"""

from telephony.cti.asterisk.adapter import AsteriskAdapter

__all__ = ["AsteriskAdapter"]
