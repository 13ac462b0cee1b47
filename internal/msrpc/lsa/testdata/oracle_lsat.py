import sys
from impacket.dcerpc.v5 import transport, lsat, lsad
from impacket.dcerpc.v5.dtypes import MAXIMUM_ALLOWED
host, mask = sys.argv[1], int(sys.argv[2], 0)
t = transport.DCERPCTransportFactory(r'ncacn_np:%s[\pipe\lsarpc]' % host)
t.set_credentials('', '')
dce = t.get_dce_rpc(); dce.connect(); dce.bind(lsat.MSRPC_UUID_LSAT)
try:
    h = lsad.hLsarOpenPolicy2(dce, mask)['PolicyHandle']
except Exception as e:
    print("open error", e); sys.exit()
sids = sys.argv[3:]
try:
    r = lsat.hLsarLookupSids(dce, h, sids, lsat.LSAP_LOOKUP_LEVEL.LsapLookupWksta)
except Exception as e:
    if hasattr(e, 'get_packet') and e.get_packet():
        r = e.get_packet()
    else:
        print("lookup error", e); sys.exit()
doms = [d['Name'] for d in r['ReferencedDomains']['Domains']]
for s, n in zip(sids, r['TranslatedNames']['Names']):
    print(s, "%s\\%s" % (doms[n['DomainIndex']] if n['DomainIndex'] >= 0 else '', n['Name']), n['Use'])
