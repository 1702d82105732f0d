"""What a column's name suggests, in English, Korean, Japanese, Chinese, Spanish, German and
French. A hint moves confidence and breaks ties between readings the values allow; it never
makes a column a type its values do not support."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from spice_harvester.domain.ontology.types import ValueType

T = ValueType


class Concept(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    MONEY = "money"
    IDENTIFIER = "identifier"
    CODE = "code"
    BOOLEAN = "boolean"
    URL = "url"
    IP = "ip"
    UUID = "uuid"
    TEXT = "text"
    COORDINATE = "coordinate"
    QUANTITY = "quantity"
    CATEGORY = "category"
    SEQUENCE = "sequence"


# Latin-script words match whole words of the name (split at _, -, spaces and camelCase),
# compared without accents; other scripts match anywhere in the name.
_WORDS: dict[Concept, str] = {
    Concept.EMAIL: "email e-mail mail emailaddress 이메일 메일 전자우편 メール 邮箱 电子邮件 邮件 "
    "電子郵件 correo courriel mel",
    Concept.PHONE: "phone telephone tel mobile cell fax phonenumber 전화 연락처 휴대폰 핸드폰 電話 "
    "携帯 电话 手机 telefono movil celular telefon handy mobil portable",
    Concept.DATE: "date day dob birthday birthdate 날짜 일자 생년월일 日付 年月日 日期 fecha datum",
    Concept.DATETIME: "datetime timestamp at ts 일시 시각 日時 时间戳 时刻 zeitpunkt zeitstempel "
    "horodatage",
    Concept.TIME: "time hour 시간 時刻 時間 时间 hora uhrzeit heure",
    Concept.MONEY: "price amount cost total fee salary revenue balance payment 가격 금액 단가 비용 "
    "요금 価格 金額 料金 値段 价格 金额 费用 價格 precio importe monto coste costo preis betrag "
    "kosten prix montant cout",
    Concept.IDENTIFIER: "id key uid no num number 번호 아이디 식별자 番号 ＩＤ 编号 號碼 "
    "numero identificador nummer kennung identifiant",
    Concept.CODE: "code zip postal postcode zipcode barcode ean upc isbn hs sku 코드 우편번호 "
    "コード 郵便番号 代码 编码 邮编 codigo plz postleitzahl",
    Concept.BOOLEAN: "is has flag active enabled deleted valid 여부 フラグ 有無 是否 activo aktiv "
    "actif",
    Concept.URL: "url link website homepage href uri 링크 홈페이지 リンク 链接 网址 enlace "
    "webseite lien",
    Concept.IP: "ip ipaddress ipv4 ipv6",
    Concept.UUID: "uuid guid",
    Concept.TEXT: "description comment comments note notes memo remarks message body content "
    "summary payload 설명 비고 메모 내용 説明 備考 メモ 描述 备注 说明 descripcion comentario nota "
    "beschreibung kommentar notiz commentaire remarque",
    Concept.COORDINATE: "lat lon lng latitude longitude coordinates coordinate coord geo 좌표 위도 "
    "경도 座標 緯度 経度 坐标 纬度 经度 coordenadas koordinaten coordonnees",
    Concept.QUANTITY: "qty quantity count weight height width length stock units 수량 개수 무게 "
    "数量 個数 重量 数目 cantidad menge anzahl gewicht quantite nombre poids",
    Concept.CATEGORY: "status state type category kind level severity gender 상태 유형 분류 종류 "
    "구분 状態 種類 区分 分類 状态 类型 类别 estado tipo categoria typ kategorie art statut "
    "categorie",
    Concept.SEQUENCE: "line seq sequence position pos rank idx index 순번 순서 行番号 連番 序号 "
    "linea zeile ligne",
}

# The value types each concept expects.
EXPECTED: dict[Concept, frozenset[ValueType]] = {
    Concept.EMAIL: frozenset({T.EMAIL}),
    Concept.PHONE: frozenset({T.PHONE}),
    Concept.DATE: frozenset({T.DATE, T.DATETIME}),
    Concept.DATETIME: frozenset({T.DATETIME, T.DATE}),
    Concept.TIME: frozenset({T.TIME, T.DATETIME}),
    Concept.MONEY: frozenset({T.MONEY, T.DECIMAL, T.INTEGER, T.FLOAT}),
    Concept.IDENTIFIER: frozenset({T.STRING, T.INTEGER, T.UUID}),
    Concept.CODE: frozenset({T.STRING, T.ENUM}),
    Concept.BOOLEAN: frozenset({T.BOOLEAN}),
    Concept.URL: frozenset({T.URL}),
    Concept.IP: frozenset({T.IP}),
    Concept.UUID: frozenset({T.UUID}),
    Concept.TEXT: frozenset({T.TEXT, T.STRING, T.OBJECT}),
    Concept.COORDINATE: frozenset({T.COORDINATE, T.DECIMAL, T.FLOAT}),
    Concept.QUANTITY: frozenset({T.INTEGER, T.DECIMAL, T.FLOAT}),
    Concept.CATEGORY: frozenset({T.ENUM, T.STRING}),
    Concept.SEQUENCE: frozenset({T.INTEGER}),
}
# Concepts naming a specific kind of value: when the values say otherwise, that is worth saying.
SPECIFIC = frozenset(
    {
        Concept.EMAIL,
        Concept.PHONE,
        Concept.DATE,
        Concept.DATETIME,
        Concept.TIME,
        Concept.BOOLEAN,
        Concept.URL,
        Concept.IP,
        Concept.UUID,
        Concept.COORDINATE,
    }
)
# Only as the first word: "is_active", "has_stock", but not "this" or "analysis".
_LEADING_ONLY = frozenset({"is", "has"})


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


def _is_latin(word: str) -> bool:
    return all(char.isascii() for char in word)


_LATIN: dict[str, set[Concept]] = {}
_OTHER: list[tuple[str, Concept]] = []
for _concept, _words in _WORDS.items():
    for _word in _words.split():
        if _is_latin(_plain(_word)):
            _LATIN.setdefault(_plain(_word).replace("-", ""), set()).add(_concept)
        else:
            _OTHER.append((_word, _concept))


def words_of(name: str) -> list[str]:
    """The words of a column name: "orderDate" and "order_date" give ["order", "date"]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word for word in re.split(r"[^0-9A-Za-z]+", _plain(spaced)) if word]


def concepts(name: str) -> tuple[Concept, ...]:
    """The concepts a column name suggests, most specific word last (``unit_price`` -> money)."""
    found: list[Concept] = []
    words = words_of(name)
    joined = "".join(words)
    for index, word in enumerate(words):
        if word in _LEADING_ONLY and index > 0:
            continue
        found.extend(sorted(_LATIN.get(word, ())))
    if len(words) > 1:
        found.extend(sorted(_LATIN.get(joined, ())))
    for word, concept in _OTHER:
        if word in name:
            found.append(concept)
    return tuple(dict.fromkeys(found))


def expects(found: tuple[Concept, ...], type_: ValueType) -> bool:
    return any(type_ in EXPECTED[concept] for concept in found)
