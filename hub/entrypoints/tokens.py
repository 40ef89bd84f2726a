"""`hub token create` and `hub token revoke` (needs HUB_ADMIN_TOKEN)."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from hub.entrypoints.common import base_url, require_admin, settings_from_env


@click.group()
def token() -> None:
    """Create and revoke API tokens (needs HUB_ADMIN_TOKEN)."""


@token.command("create")
@click.option("--org", required=True, help="Organisation code, e.g. RX9.")
@click.option(
    "--feeds", default=None, help="Comma-separated feeds the token may submit (default: all)."
)
@click.option(
    "--role", type=click.Choice(["submitter", "viewer"]), default="submitter", show_default=True
)
@click.option("--name", default=None, help="A viewer's display name (for acknowledgements).")
@click.option("--job-role", default=None, help='A viewer\'s job, e.g. "Regional on-call".')
@click.option("--url", default=None, help="The hub's base URL.")
def token_create(
    org: str,
    feeds: str | None,
    role: str,
    name: str | None,
    job_role: str | None,
    url: str | None,
) -> None:
    """Create a token for an organisation and print it (it is shown only once)."""
    from hub.client.http import HubClient, HubClientError

    settings = settings_from_env()
    require_admin(settings)
    base = base_url(settings, url)
    feed_list = [f.strip() for f in feeds.split(",")] if feeds else None
    person = {k: v for k, v in (("name", name), ("job_role", job_role)) if v is not None}

    async def run() -> dict[str, Any]:
        async with HubClient(base, settings.admin_token) as client:
            return await client.create_token(org, role, feed_list, person)

    try:
        created = asyncio.run(run())
    except HubClientError as exc:
        raise click.ClickException(str(exc)) from exc
    feeds_text = ", ".join(created["feeds"] or ["all"])
    click.echo(
        f"id:    {created['id']}\ntoken: {created['token']}\norg:   {created['org']}\n"
        f"role:  {created['role']}\nfeeds: {feeds_text}"
        + (f"\nname:  {created['name']}" if created.get("name") else "")
    )


@token.command("revoke")
@click.argument("token_id")
@click.option("--url", default=None, help="The hub's base URL.")
def token_revoke(token_id: str, url: str | None) -> None:
    """Revoke a token at once."""
    from hub.client.http import HubClient, HubClientError

    settings = settings_from_env()
    require_admin(settings)
    base = base_url(settings, url)

    async def run() -> None:
        async with HubClient(base, settings.admin_token) as client:
            await client.revoke_token(token_id)

    try:
        asyncio.run(run())
    except HubClientError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {token_id}")
