"""Uploaded bytes, files, folders and Google Sheets links to tables of strings."""

from spice_harvester.application.funnel.readers.delimited import (
    detect_delimiter,
    read_csv_bytes,
    read_csv_text,
)
from spice_harvester.application.funnel.readers.encoding import DecodedText, decode_text
from spice_harvester.application.funnel.readers.google_sheets import (
    SheetLink,
    export_url,
    fetch_google_sheet,
    parse_sheet_link,
)
from spice_harvester.application.funnel.readers.json_lines import read_json_bytes, read_jsonl_bytes
from spice_harvester.application.funnel.readers.tables import (
    NamedGrid,
    ReadReport,
    ReadSource,
    ReadTable,
    SourceFormat,
)
from spice_harvester.application.funnel.readers.upload import (
    MAX_UPLOAD_BYTES,
    detect_format,
    read_folder,
    read_folder_tables,
    read_path,
    read_tables,
    read_upload,
    tables_of_grid,
)
from spice_harvester.application.funnel.readers.workbook import cell_text, read_xlsx_bytes

__all__ = [
    "MAX_UPLOAD_BYTES",
    "DecodedText",
    "NamedGrid",
    "ReadReport",
    "ReadSource",
    "ReadTable",
    "SheetLink",
    "SourceFormat",
    "cell_text",
    "decode_text",
    "detect_delimiter",
    "detect_format",
    "export_url",
    "fetch_google_sheet",
    "parse_sheet_link",
    "read_csv_bytes",
    "read_csv_text",
    "read_folder",
    "read_folder_tables",
    "read_json_bytes",
    "read_jsonl_bytes",
    "read_path",
    "read_tables",
    "read_upload",
    "read_xlsx_bytes",
    "tables_of_grid",
]
