import sys
from impacket.dcerpc.v5 import transport, wkst
host = sys.argv[1]
t = transport.DCERPCTransportFactory(r'ncacn_np:%s[\pipe\wkssvc]' % host)
t.set_credentials('', '')
dce = t.get_dce_rpc(); dce.connect(); dce.bind(wkst.MSRPC_UUID_WKST)
try:
    r = wkst.hNetrWkstaGetInfo(dce, 100)
    i = r['WkstaInfo']['WkstaInfo100']
    print("platform=%d computer=%s langroup=%s ver=%d.%d" % (i['wki100_platform_id'], i['wki100_computername'][:-1], i['wki100_langroup'][:-1], i['wki100_ver_major'], i['wki100_ver_minor']))
except Exception as e:
    print("error", e)
