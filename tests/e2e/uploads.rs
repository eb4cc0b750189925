//! `POST /api/v1/profiles` through real HTTP: an uploaded profile is
//! self-contained. Its data come only from the upload's `files`; a `[data]`
//! entry that names anything else (an absolute path, a `..` path, a
//! subdirectory, a name not uploaded) is a 422 that names the entry, and no
//! file of the server is opened, so nothing of one can be echoed or stored.

use serde_json::json;

use crate::http::{request_bytes, Server};
use crate::util::Env;

/// A one-knob profile whose `[data] observations` is `entry`.
fn toml_with_observations(entry: &str) -> String {
    format!(
        "name = \"leak\"\nkind = \"k\"\n[[space]]\nname = \"m\"\ntype = \"choice\"\nvalues = [\"a\", \"b\"]\n\
         [baseline]\nm = \"a\"\n[data]\nobservations = {}\n",
        toml_string(entry)
    )
}

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// A file of the server's machine, outside any upload: one valid and one
/// malformed observations table, both holding a marker that must never
/// reach a client.
struct ServerFiles {
    valid: String,
    malformed: String,
}

fn server_files(env: &Env) -> ServerFiles {
    let valid = env.dir.path().join("outside-valid.csv");
    std::fs::write(&valid, "m,quality_score\na,0.5\nb,0.777123\n").unwrap();
    let malformed = env.dir.path().join("outside.csv");
    std::fs::write(&malformed, "m,quality_score\nTOPSECRET-ROW,1\n").unwrap();
    ServerFiles {
        valid: valid.display().to_string(),
        malformed: malformed.display().to_string(),
    }
}

/// Asserts a 422 whose first problem is at the `[data]` entry (line 10 of
/// [`toml_with_observations`]) and says the data must be sent in `files`;
/// and that nothing of a server file is in the answer.
fn expect_refused(reply: &crate::http::Reply, entry: &str) {
    reply.expect(422);
    assert!(!reply.body.contains("TOPSECRET"), "{}", reply.body);
    assert!(!reply.body.contains("0.777123"), "{}", reply.body);
    let problem = reply.json();
    assert_eq!(problem["type"], "urn:aiopt:problem:validation", "{problem}");
    let first = &problem["problems"][0];
    assert_eq!(first["file"], "profile.toml", "{problem}");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(10), Some(16)),
        "{problem}"
    );
    let message = first["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`[data] observations` = {}", toml_string(entry))),
        "{message}"
    );
    assert!(message.contains("`files`"), "{message}");
    assert_eq!(problem["problems"].as_array().unwrap().len(), 1, "{problem}");
}

fn upload(server: &Server, toml: &str, files: serde_json::Value) -> crate::http::Reply {
    server.call(
        "POST",
        "/api/v1/profiles",
        Some(&json!({ "toml": toml, "files": files })),
    )
}

#[test]
fn an_absolute_data_path_reads_no_server_file() {
    let env = Env::new();
    let outside = server_files(&env);
    let server = Server::start(&env, &[], None);
    for path in [&outside.malformed, &outside.valid] {
        let reply = upload(&server, &toml_with_observations(path), json!({}));
        expect_refused(&reply, path);
    }
    // Not stored either: a valid server file must not become a profile.
    server.call("GET", "/api/v1/profiles/leak", None).expect(404);
}

#[test]
fn a_dot_dot_data_path_reads_no_server_file() {
    let env = Env::new();
    let outside = server_files(&env);
    let server = Server::start(&env, &[], None);
    // Enough `..` to reach `/` from wherever the server might put an
    // upload, then down to the file: a path that resolves to it from any
    // folder.
    for path in [&outside.malformed, &outside.valid] {
        let entry = format!("{}{}", "../".repeat(32), path.trim_start_matches('/'));
        let reply = upload(&server, &toml_with_observations(&entry), json!({}));
        expect_refused(&reply, &entry);
    }
    server.call("GET", "/api/v1/profiles/leak", None).expect(404);
}

#[test]
fn data_entries_must_name_an_uploaded_file() {
    let env = Env::new();
    let server = Server::start(&env, &[], None);
    let files = json!({ "obs.csv": "m,quality_score\na,0.5\n" });
    for entry in ["data/obs.csv", "./obs.csv", "missing.csv"] {
        let reply = upload(&server, &toml_with_observations(entry), files.clone());
        expect_refused(&reply, entry);
    }
    let reply = upload(&server, &toml_with_observations("missing.csv"), files.clone());
    let message = reply.json()["problems"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        message,
        "`[data] observations` = \"missing.csv\" names no uploaded file (uploaded: obs.csv); an \
         uploaded profile's data must be sent in `files`, by the name used here"
    );
    let reply = upload(&server, &toml_with_observations("../obs.csv"), files.clone());
    let message = reply.json()["problems"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        message,
        "`[data] observations` = \"../obs.csv\" is a path, not the name of an uploaded file; an \
         uploaded profile reads no server files: send the data in `files` and name it here by its \
         plain name (like \"obs.csv\")"
    );

    // The same profile naming the uploaded file is stored, with its row.
    let created = upload(&server, &toml_with_observations("obs.csv"), files);
    created.expect(201);
    let stored = server.call("GET", "/api/v1/profiles/leak", None);
    stored.expect(200);
    let trials = &stored.json()["profile"]["trials"];
    assert_eq!(trials.as_array().map(Vec::len), Some(1), "{trials}");
}

#[test]
fn a_toml_upload_has_no_files_so_data_entries_are_refused() {
    let env = Env::new();
    let outside = server_files(&env);
    let server = Server::start(&env, &[], None);
    let toml = toml_with_observations(&outside.valid);
    let reply = request_bytes(
        server.port,
        None,
        "POST",
        "/api/v1/profiles",
        toml.as_bytes(),
        Some("application/toml"),
    );
    expect_refused(&reply, &outside.valid);
}

#[test]
fn invalid_utf8_in_an_uploaded_toml_is_located() {
    let env = Env::new();
    let server = Server::start(&env, &[], None);
    let reply = request_bytes(
        server.port,
        None,
        "POST",
        "/api/v1/profiles",
        b"name = \"p\"\nkind = \"k\xff\"\n",
        Some("application/toml"),
    );
    reply.expect(422);
    let first = &reply.json()["problems"][0];
    assert_eq!(first["file"], "profile.toml");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(
        first["message"],
        "invalid UTF-8: byte 0xff cannot appear here; a profile must be UTF-8 text"
    );
}
