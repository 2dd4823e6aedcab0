"""Accounts, roles, bearer tokens and API keys.

Roles: admin (everything, manages accounts); curator (hub staff: edits any profile, imports);
organizer (runs matchmaking events); member (bound to one organisation, edits only that one).

Credentials: `POST /api/v1/auth/token` (OAuth2 password form or JSON) issues a login token
(`kmt_...`, KOOPMATCH_ACCESS_TOKEN_MINUTES, default 12 h); `POST /api/v1/auth/api-keys` or
`koopmatch create-token` an API key (`kmk_...`, KOOPMATCH_API_KEY_DAYS, default 365, at most
KOOPMATCH_API_KEY_MAX_DAYS); an API key through the API takes the account's password again
(`current_password`), so a login token alone cannot mint one. Only the SHA-256 of a secret is
stored; the secret is shown once.
Passwords are hashed with argon2id and re-hashed at login when the cost settings change.
Five failed logins per e-mail address and client IP within a minute give 429 + Retry-After.

Reading: anonymous callers see teasers of public profiles (industry, country, region, size
class, competence labels, cooperation interests, and the field groups an organisation made
public); any token shows `public` and `members` profiles, each field group as far as its
disclosure level allows (app/organizations/disclosure.py); `private` ones only to admins,
curators and the organisation's members, everyone else gets 404 as if it did not exist.

Deleting or erasing an organisation ends its members' accounts: members may do it only as its
organisation admins (organization_admins.py: the first member account, or the only one, and
whom they name), typing the organisation's name as `confirm`.

Start-up outside development (KOOPMATCH_ENVIRONMENT != "development") refuses to serve while
the demo admin is active or the database password is a well-known default, and warns when no
active admin exists. In development `koopmatch seed` may create the demo admin
admin@koopmatch.example / koopmatch-demo.
"""
