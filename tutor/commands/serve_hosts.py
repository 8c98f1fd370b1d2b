"""What `tutor serve` and its server both need: which hosts count as this machine, the
addresses to give learners, and a tab's learner environment."""

from __future__ import annotations


def is_loopback(host: str) -> bool:
    """Only literal loopback addresses and `localhost` count: a name could resolve anywhere."""
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def addresses(host: str, port: int) -> list[str]:
    """Base URLs to give out: for 0.0.0.0/:: this machine's own addresses (learners cannot
    type "0.0.0.0"), else the host itself."""
    import ipaddress

    def url(address: str) -> str:
        return f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}"

    try:
        unspecified = ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        unspecified = False
    if not unspecified:
        return [url(host.strip("[]"))]
    import socket

    import psutil

    # "::" takes IPv4 too (dual stack); link-local addresses need a zone no browser takes.
    families = {socket.AF_INET, socket.AF_INET6} if ":" in host else {socket.AF_INET}
    found = [ipaddress.ip_address(a.address.split("%")[0])
             for nic in psutil.net_if_addrs().values() for a in nic if a.family in families]
    usable = [str(a) for a in found if not (a.is_loopback or a.is_link_local)]
    return [url(a) for a in sorted(usable, key=lambda a: (":" in a, a))] or [url("127.0.0.1")]


def learner_env(learner_id: str) -> dict[str, str]:
    """A tab opened with ?learner=ID: that learner's own progress, workspace and LocalStack
    account, kept on the server under <data>/learners/ID so a reconnect finds them again."""
    from tutor import locations
    from tutor.engine.learner import ACCOUNT_ENV, LEARNER_ENV, account_for, validate

    cleaned = validate(learner_id)  # [a-z0-9_-]{1,32}: safe as a folder name
    home = locations.data_dir() / "learners" / cleaned
    # The account too: one inherited from the server's shell (`eval "$(tutor env)"`)
    # would otherwise win over the learner id and put every tab in one account.
    return {LEARNER_ENV: cleaned, ACCOUNT_ENV: account_for(cleaned), "TUTOR_HOME": str(home),
            "TUTOR_WORKSPACE": str(home / "workspace")}
