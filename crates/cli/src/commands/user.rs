//! `gridmap user …`: accounts and API tokens. Passwords are hashed here with argon2id (default
//! parameters) into a PHC string; API tokens are 256 random bits, printed once, and stored only as
//! their SHA-256 (`gridmap_store::hash_token`). Every change is appended to the audit log with
//! user `cli`.
use crate::config::{Global, ScopeArgs, UserAddArgs, UserCommand};
use crate::error::{CliError, Result};
use crate::output::emit;
use gridmap_model::{AuditEntry, CommunityId, GridId, Role, User, UserId};
use gridmap_store::Store;
use std::io::BufRead;

pub async fn run(g: &Global, c: UserCommand) -> Result<()> {
    let store = super::open_store(g).await?;
    match c {
        UserCommand::Add(a) => add(g, &*store, a).await,
        UserCommand::List => list(g, &*store).await,
        UserCommand::Remove { name } => remove(g, &*store, &name).await,
        UserCommand::SetRole { name, role, scope } => {
            set_role(g, &*store, &name, &role, &scope).await
        }
        UserCommand::Token { name, label } => token(g, &*store, &name, label.as_deref()).await,
    }
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse().map_err(|e| CliError::usage("--role", e))
}

/// Login names: 1–64 letters, digits or `.` `_` `-` `@`.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || ".-_@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(CliError::usage(
            "user name",
            format!("'{name}' is not a login name (1-64 letters, digits, '.', '_', '-', '@')"),
        ))
    }
}

/// Argon2id of `password` (refuses empty passwords); see `gridmap_store::hash_password`.
pub fn hash_password(password: &str) -> Result<String> {
    if password.is_empty() {
        return Err(CliError::usage("password", "must not be empty"));
    }
    Ok(gridmap_store::hash_password(password)?)
}

/// 20 characters from a 32-letter alphabet without look-alikes: 100 random bits.
fn generate_password() -> Result<String> {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";
    Ok(gridmap_store::random_bytes::<20>()?
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect())
}

/// A new API token: `gm_` + 64 hex digits (256 random bits).
fn generate_token() -> Result<String> {
    Ok(gridmap_store::new_token("gm_")?)
}

fn to_json(u: &User) -> serde_json::Value {
    serde_json::to_value(u).unwrap_or(serde_json::Value::Null)
}

/// Appends one audit entry by `cli`.
pub async fn audit(
    store: &dyn Store,
    action: &str,
    target: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    let e = AuditEntry {
        id: 0,
        at: String::new(),
        user: Some(UserId::from("cli")),
        action: action.into(),
        target: target.into(),
        before,
        after,
    };
    store.append_audit(&e).await?;
    Ok(())
}

/// Checks that every scoped grid and community exists.
async fn check_scope(store: &dyn Store, u: &User) -> Result<()> {
    for gid in &u.grids {
        if store.grid(gid).await?.is_none() {
            return Err(CliError::usage("--grids", format!("unknown grid '{gid}'")));
        }
    }
    for cid in &u.communities {
        if store.community(cid).await?.is_none() {
            return Err(CliError::usage(
                "--communities",
                format!("unknown community '{cid}'"),
            ));
        }
    }
    if u.role == Role::GridLead && u.grids.is_empty() {
        eprintln!(
            "warning: grid_lead '{}' has no grids (--grids) and so may edit nothing",
            u.id
        );
    }
    Ok(())
}

fn apply_scope(u: &mut User, scope: &ScopeArgs) {
    if let Some(g) = &scope.grids {
        u.grids = g
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| GridId::from(s.as_str()))
            .collect();
    }
    if let Some(c) = &scope.communities {
        u.communities = c
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| CommunityId::from(s.as_str()))
            .collect();
    }
}

/// Creates a new user with `password` (hashed here) and audits it; fails when the name is taken.
pub async fn create_user(store: &dyn Store, u: &User, password: &str) -> Result<()> {
    check_name(u.id.as_str())?;
    if store.user(&u.id).await?.is_some() {
        return Err(CliError::usage(
            "user add",
            format!(
                "user '{}' already exists (use `gridmap user set-role`, or remove it first)",
                u.id
            ),
        ));
    }
    check_scope(store, u).await?;
    let hash = hash_password(password)?;
    store.put_user(u, Some(&hash)).await?;
    audit(
        store,
        "user.add",
        &format!("user:{}", u.id),
        None,
        Some(to_json(u)),
    )
    .await
}

async fn add(g: &Global, store: &dyn Store, a: UserAddArgs) -> Result<()> {
    let mut u = User::new(a.name.as_str(), parse_role(&a.role)?);
    u.display_name = a.display_name.clone();
    apply_scope(&mut u, &a.scope);
    let (password, generated) = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::usage("--password-stdin", e))?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else if let Some(p) = a.password {
        (p, false)
    } else {
        (generate_password()?, true)
    };
    if password.is_empty() {
        return Err(CliError::usage("password", "must not be empty"));
    }
    create_user(store, &u, &password).await?;
    let mut out = serde_json::json!({ "user": to_json(&u) });
    if generated {
        out["password"] = serde_json::Value::String(password.clone());
    }
    if g.json {
        emit(true, "", &out);
    } else {
        println!("user '{}' added as {}", u.id, u.role);
        if generated {
            println!("password: {password}");
            eprintln!("(generated; shown only now)");
        }
    }
    Ok(())
}

fn scope_text(u: &User) -> String {
    let mut parts = Vec::new();
    if !u.grids.is_empty() {
        parts.push(format!(
            "grids {}",
            u.grids
                .iter()
                .map(gridmap_model::GridId::as_str)
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if !u.communities.is_empty() {
        parts.push(format!(
            "communities {}",
            u.communities
                .iter()
                .map(gridmap_model::CommunityId::as_str)
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}

async fn list(g: &Global, store: &dyn Store) -> Result<()> {
    let users = store.users().await?;
    if g.json {
        println!("{}", serde_json::to_string(&users).unwrap_or_default());
        return Ok(());
    }
    let w = users
        .iter()
        .map(|u| u.id.as_str().chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:<w$}  {:<10}  {:<8}  scope", "name", "role", "status");
    for u in &users {
        let status = if u.disabled { "disabled" } else { "active" };
        println!(
            "{:<w$}  {:<10}  {:<8}  {}",
            u.id.as_str(),
            u.role.as_str(),
            status,
            scope_text(u)
        );
    }
    eprintln!("{} user(s)", users.len());
    Ok(())
}

async fn existing(store: &dyn Store, name: &str) -> Result<User> {
    match store.user(&UserId::from(name)).await? {
        Some((u, _)) => Ok(u),
        None => Err(CliError::Store(gridmap_store::StoreError::NotFound {
            what: "user",
            id: name.to_owned(),
        })),
    }
}

async fn remove(g: &Global, store: &dyn Store, name: &str) -> Result<()> {
    let u = existing(store, name).await?;
    store.delete_user(&u.id).await?;
    audit(
        store,
        "user.remove",
        &format!("user:{name}"),
        Some(to_json(&u)),
        None,
    )
    .await?;
    if g.json {
        emit(true, "", &serde_json::json!({ "removed": name }));
    } else {
        println!("user '{name}' removed");
    }
    Ok(())
}

async fn set_role(
    g: &Global,
    store: &dyn Store,
    name: &str,
    role: &str,
    scope: &ScopeArgs,
) -> Result<()> {
    let before = existing(store, name).await?;
    let mut u = before.clone();
    u.role = parse_role(role)?;
    apply_scope(&mut u, scope);
    check_scope(store, &u).await?;
    store.put_user(&u, None).await?;
    audit(
        store,
        "user.set_role",
        &format!("user:{name}"),
        Some(to_json(&before)),
        Some(to_json(&u)),
    )
    .await?;
    if g.json {
        emit(true, "", &serde_json::json!({ "user": to_json(&u) }));
    } else {
        println!(
            "user '{name}' is now {} (scope: {})",
            u.role,
            scope_text(&u)
        );
    }
    Ok(())
}

async fn token(g: &Global, store: &dyn Store, name: &str, label: Option<&str>) -> Result<()> {
    let u = existing(store, name).await?;
    let token = generate_token()?;
    store
        .create_api_token(&gridmap_store::hash_token(&token), &u.id, label, None)
        .await?;
    audit(
        store,
        "user.token",
        &format!("user:{name}"),
        None,
        Some(serde_json::json!({ "api_token": label })),
    )
    .await?;
    if g.json {
        emit(
            true,
            "",
            &serde_json::json!({ "user": name, "name": label, "token": token }),
        );
    } else {
        println!("{token}");
        eprintln!("API token for '{name}': shown only now; only its SHA-256 is stored");
    }
    Ok(())
}
