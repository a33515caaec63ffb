def test_template_is_migrated(db):
    assert db.execute("select value from docpal_private.meta where key = 'version'").fetchone()[0]
