//! Household CSV input.
use gridmap_import::{read_household_csv, ImportError, NoProgress};
use gridmap_model::{BuildingId, BuildingKey};

fn csv(name: &str, text: &str) -> Result<Vec<gridmap_model::HouseholdUpdate>, ImportError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    read_household_csv(&p, &NoProgress)
}

#[test]
fn rows_by_building_id_carry_their_origin_line() {
    let rows = csv(
        "counts.csv",
        "\u{feff}building_id,households,elderly,steward\nw1,40,6,王芳\nw2, 12 ,,\nw3,,3,\n",
    )
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].key, BuildingKey::Id(BuildingId::new("w1")));
    assert_eq!(
        (
            rows[0].households,
            rows[0].elderly,
            rows[0].steward.as_deref()
        ),
        (Some(40), Some(6), Some("王芳"))
    );
    assert_eq!(
        (
            rows[1].households,
            rows[1].elderly,
            rows[1].steward.as_deref()
        ),
        (Some(12), None, None)
    );
    assert_eq!((rows[2].households, rows[2].elderly), (None, Some(3)));
    assert_eq!(rows[0].origin, "counts.csv:2");
    assert_eq!(rows[2].origin, "counts.csv:4");
}

#[test]
fn rows_by_address_and_the_id_alias() {
    let rows = csv("a.csv", "address,households\n学院路17号,30\n").unwrap();
    assert_eq!(rows[0].key, BuildingKey::Address("学院路17号".into()));
    let rows = csv("b.csv", "id,elderly\nr5,2\n").unwrap();
    assert_eq!(rows[0].key, BuildingKey::Id(BuildingId::new("r5")));
}

#[test]
fn bad_rows_name_the_line_and_column() {
    let cases = [
        (
            "building_id,households\nw1,10\nw2,lots\n",
            3,
            "households",
            "not an integer",
        ),
        (
            "building_id,households\nw1,-4\n",
            2,
            "households",
            "negative",
        ),
        (
            "building_id,elderly\nw1,2.5\n",
            2,
            "elderly",
            "not an integer",
        ),
        (
            "building_id,households\nw1,1\n,5\n",
            3,
            "building_id",
            "empty key",
        ),
        (
            "name,households\nx,1\n",
            1,
            "building_id",
            "missing key column",
        ),
        (
            "building_id,floors\nw1,1\n",
            1,
            "households",
            "no value column",
        ),
        ("building_id,households\nw1,1,9\n", 2, "(row)", "fields"),
    ];
    for (text, want_line, want_col, want_msg) in cases {
        match csv("bad.csv", text) {
            Err(ImportError::Csv {
                line,
                column,
                message,
                file,
            }) => {
                assert_eq!(
                    (line, column.as_str()),
                    (want_line, want_col),
                    "{text:?}: {message}"
                );
                assert!(message.contains(want_msg), "{text:?}: {message}");
                assert!(file.ends_with("bad.csv"));
            }
            other => panic!("{text:?}: expected a CSV error, got {other:?}"),
        }
    }
}

#[test]
fn crlf_files_name_the_same_lines_as_lf_files() {
    let rows = csv("win.csv", "building_id,households\r\nw1,10\r\nw2,11\r\n").unwrap();
    let origins: Vec<&str> = rows.iter().map(|r| r.origin.as_str()).collect();
    assert_eq!(origins, ["win.csv:2", "win.csv:3"]);
    match csv("win.csv", "building_id,households\r\nw1,10\r\nw2,lots\r\n") {
        Err(ImportError::Csv { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cr_only_files_and_blank_crlf_lines_are_read_line_by_line() {
    let rows = csv("mac.csv", "building_id,households\rw1,10\r\rw2,11\r").unwrap();
    let origins: Vec<&str> = rows.iter().map(|r| r.origin.as_str()).collect();
    assert_eq!(origins, ["mac.csv:2", "mac.csv:4"]);
    let rows = csv(
        "win.csv",
        "building_id,steward\r\nw1,\"王\r\n芳\"\r\n\r\nw2,李\r\n",
    )
    .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.origin.as_str()).collect::<Vec<_>>(),
        ["win.csv:2", "win.csv:5"]
    );
    assert_eq!(rows[0].steward.as_deref(), Some("王\n芳"));
}
