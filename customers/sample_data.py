"""Vocabulary for the synthetic-customer generator: names, places, messages, products.

Built in (no Faker) so a generated brand looks like this product's market — mostly
Chinese customers on WeChat and Weibo, a share of international ones on Meta, X and
email — and so the generator is deterministic for a seed. Nothing here may contain a
tab, newline or backslash: the generator writes these strings into COPY text verbatim.
"""

from __future__ import annotations

# fmt: off

# (surname, pinyin, relative frequency ‰) — the most common surnames, roughly weighted.
CN_SURNAMES: list[tuple[str, str, float]] = [
    ("王", "wang", 71), ("李", "li", 72), ("张", "zhang", 68), ("刘", "liu", 54), ("陈", "chen", 46),
    ("杨", "yang", 32), ("黄", "huang", 23), ("赵", "zhao", 22), ("吴", "wu", 21), ("周", "zhou", 21),
    ("徐", "xu", 17), ("孙", "sun", 15), ("马", "ma", 15), ("朱", "zhu", 14), ("胡", "hu", 13),
    ("郭", "guo", 12), ("何", "he", 12), ("高", "gao", 11), ("林", "lin", 11), ("罗", "luo", 10),
    ("郑", "zheng", 10), ("梁", "liang", 9), ("谢", "xie", 8), ("宋", "song", 8), ("唐", "tang", 8),
    ("许", "xu", 7), ("韩", "han", 7), ("冯", "feng", 7), ("邓", "deng", 7), ("曹", "cao", 6),
    ("彭", "peng", 6), ("曾", "zeng", 6), ("肖", "xiao", 6), ("田", "tian", 5), ("董", "dong", 5),
    ("袁", "yuan", 5), ("潘", "pan", 5), ("于", "yu", 5), ("蒋", "jiang", 5), ("蔡", "cai", 5),
    ("余", "yu", 5), ("杜", "du", 5), ("叶", "ye", 4), ("程", "cheng", 4), ("苏", "su", 4),
    ("魏", "wei", 4), ("吕", "lv", 4), ("丁", "ding", 4), ("任", "ren", 4), ("沈", "shen", 4),
    ("姚", "yao", 3), ("卢", "lu", 3), ("姜", "jiang", 3), ("崔", "cui", 3), ("钟", "zhong", 3),
    ("谭", "tan", 3), ("陆", "lu", 3), ("汪", "wang", 3), ("范", "fan", 3), ("金", "jin", 3),
    ("石", "shi", 3), ("廖", "liao", 3), ("贾", "jia", 3), ("夏", "xia", 3), ("韦", "wei", 2),
    ("方", "fang", 2), ("白", "bai", 2), ("邹", "zou", 2), ("孟", "meng", 2), ("熊", "xiong", 2),
    ("秦", "qin", 2), ("邱", "qiu", 2), ("江", "jiang", 2), ("尹", "yin", 2), ("薛", "xue", 2),
    ("欧阳", "ouyang", 0.5), ("上官", "shangguan", 0.2), ("司马", "sima", 0.2),
]

# (character, pinyin) given-name characters; a given name is one or two of them.
CN_GIVEN_FEMALE: list[tuple[str, str]] = [
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("颖", "ying"),
    ("琳", "lin"), ("欣", "xin"), ("怡", "yi"), ("佳", "jia"), ("梦", "meng"), ("雨", "yu"),
    ("晓", "xiao"), ("萱", "xuan"), ("诗", "shi"), ("涵", "han"), ("悦", "yue"), ("可", "ke"),
    ("馨", "xin"), ("思", "si"), ("彤", "tong"), ("玉", "yu"), ("倩", "qian"), ("洁", "jie"),
]

CN_GIVEN_MALE: list[tuple[str, str]] = [
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"), ("平", "ping"),
    ("辉", "hui"), ("鹏", "peng"), ("华", "hua"), ("飞", "fei"), ("鑫", "xin"), ("波", "bo"),
    ("斌", "bin"), ("宇", "yu"), ("浩", "hao"), ("凯", "kai"), ("俊", "jun"), ("晨", "chen"),
    ("博", "bo"), ("子", "zi"), ("轩", "xuan"), ("文", "wen"), ("建", "jian"), ("志", "zhi"),
]

EN_FIRST_FEMALE: list[str] = [
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
    "Emily", "Ella", "Grace", "Chloe", "Lily", "Hannah", "Zoe", "Nora", "Lucy", "Sarah", "Jessica",
    "Laura", "Anna", "Rachel", "Megan", "Charlotte", "Sophie", "Alice", "Julia", "Claire",
]

EN_FIRST_MALE: list[str] = [
    "Liam", "Noah", "Oliver", "James", "Elijah", "William", "Henry", "Lucas", "Benjamin", "Daniel",
    "Michael", "Alexander", "Ethan", "Jack", "Samuel", "David", "Joseph", "Thomas", "Ryan", "Adam",
    "Matthew", "Andrew", "Chris", "Kevin", "Jason", "Mark", "Paul", "Peter", "George", "Leo",
]

EN_LAST: list[str] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
    "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Cooper", "Peterson", "O'Brien", "Nguyen", "Kim", "Patel", "Chen", "Wong",
]

# Social-media display names people pick instead of their legal name (with emoji).
NICKNAMES: list[str] = [
    "小鱼儿🐟", "阿杰", "🍀幸运草", "喵喵酱", "Momo", "Lily 🌸", "奶茶控🧋", "静待花开", "追风少年", "Coco", "大白", "Sunny☀️",
    "旅行的意义✈️", "小确幸", "Kiki 💕", "吃货一枚🍜", "Jenny W.", "木子李", "Mr. Zhang", "🌙月亮不睡我不睡", "Bella✨",
    "老王", "Tony老师", "甜甜圈🍩", "Vivian", "晴天☀", "Alex 🚀", "橙子🍊", "Yoyo", "一只猫🐱",
]

# (city, province or state, ISO country, relative weight)
CN_CITIES: list[tuple[str, str, str, float]] = [
    ("上海", "上海", "CN", 120), ("北京", "北京", "CN", 110), ("广州", "广东", "CN", 80),
    ("深圳", "广东", "CN", 85), ("杭州", "浙江", "CN", 60), ("成都", "四川", "CN", 58), ("重庆", "重庆", "CN", 45),
    ("武汉", "湖北", "CN", 42), ("南京", "江苏", "CN", 40), ("西安", "陕西", "CN", 35), ("苏州", "江苏", "CN", 34),
    ("天津", "天津", "CN", 30), ("长沙", "湖南", "CN", 28), ("郑州", "河南", "CN", 26), ("青岛", "山东", "CN", 22),
    ("东莞", "广东", "CN", 20), ("宁波", "浙江", "CN", 19), ("厦门", "福建", "CN", 17), ("合肥", "安徽", "CN", 16),
    ("昆明", "云南", "CN", 15), ("沈阳", "辽宁", "CN", 14), ("大连", "辽宁", "CN", 12), ("济南", "山东", "CN", 12),
    ("福州", "福建", "CN", 11), ("哈尔滨", "黑龙江", "CN", 10), ("南宁", "广西", "CN", 9), ("无锡", "江苏", "CN", 9),
    ("佛山", "广东", "CN", 9), ("石家庄", "河北", "CN", 8), ("贵阳", "贵州", "CN", 7), ("香港", "", "HK", 10),
    ("台北", "", "TW", 5), ("澳门", "", "MO", 2),
]

INTL_CITIES: list[tuple[str, str, str, float]] = [
    ("New York", "NY", "US", 40), ("Los Angeles", "CA", "US", 25),
    ("San Francisco", "CA", "US", 20), ("Seattle", "WA", "US", 8), ("Chicago", "IL", "US", 10),
    ("Boston", "MA", "US", 8), ("London", "England", "GB", 35), ("Manchester", "England", "GB", 6),
    ("Paris", "Île-de-France", "FR", 15), ("Berlin", "Berlin", "DE", 10),
    ("Singapore", "", "SG", 25), ("Sydney", "NSW", "AU", 18), ("Melbourne", "VIC", "AU", 14),
    ("Toronto", "ON", "CA", 16), ("Vancouver", "BC", "CA", 14), ("Tokyo", "Tokyo", "JP", 12),
    ("Seoul", "Seoul", "KR", 8), ("Kuala Lumpur", "", "MY", 8), ("Dubai", "", "AE", 6),
    ("Hong Kong", "", "HK", 15), ("Shanghai", "Shanghai", "CN", 12),
    ("Beijing", "Beijing", "CN", 8),
]

CN_EMAIL_DOMAINS = [
    "qq.com", "163.com", "126.com", "foxmail.com", "sina.com", "gmail.com", "outlook.com",
]

EN_EMAIL_DOMAINS = [
    "gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com", "proton.me",
]

CN_MOBILE_PREFIXES = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186",
    "187", "188", "189", "191", "198", "199",
]

US_AREA_CODES = [
    "212", "646", "917", "415", "628", "213", "310", "206", "312", "617", "202", "305",
]

# WeChat official-account app ids (an OpenID is scoped to one): service account, mini program.
WECHAT_APP_IDS = [
    "wx8d3f1b2c4a5e6f70", "wx1a2b3c4d5e6f7a8b",
]

# (text, sentiment in [-1, 1]) — what customers write.
MESSAGES_IN_ZH: list[tuple[str, float]] = [
    ("你好，请问这款还有货吗？", 0.1), ("什么时候发货呀？", 0.0), ("我的快递三天了还没到😤", -0.6), ("收到了，质量很好，谢谢！👍", 0.8),
    ("可以开发票吗？", 0.0), ("有没有优惠券？", 0.1), ("颜色和图片不一样，想退货", -0.5), ("客服态度太差了", -0.8),
    ("请问会员积分怎么用？", 0.0), ("已经回购第三次了，超爱❤️", 0.9), ("尺码偏大还是偏小？", 0.0), ("包装破损了，怎么处理？", -0.4),
    ("双十一有活动吗？", 0.2), ("门店地址在哪里？", 0.0), ("味道很好闻，推荐给朋友了", 0.8), ("退款什么时候到账？", -0.2),
    ("能不能改一下收货地址", 0.0), ("谢谢小姐姐的耐心解答🌹", 0.7), ("用了过敏了，怎么办", -0.7), ("直播间的价格还有吗", 0.1),
    ("下单了，麻烦尽快发货", 0.1), ("这个赠品是随机的吗？", 0.0), ("一直没人回复，差评", -0.9), ("新品什么时候上市？", 0.3),
]

MESSAGES_IN_EN: list[tuple[str, float]] = [
    ("Hi, is this still in stock?", 0.1), ("When will my order ship?", 0.0),
    ("My package hasn't arrived after a week 😠", -0.6), ("Love it, thank you so much! 😍", 0.9),
    ("Can I change my delivery address?", 0.0), ("Do you ship to Canada?", 0.0),
    ("The item arrived damaged.", -0.6), ("How do I use my loyalty points?", 0.0),
    ("Worst customer service ever.", -0.9), ("Any discount codes this week?", 0.2),
    ("Great quality, will buy again 👍", 0.8), ("I'd like a refund please.", -0.4),
    ("What size should I get? I'm usually an M.", 0.0), ("Thanks for the quick reply!", 0.7),
    ("Is there a store in Singapore?", 0.0), ("The colour is not what I expected.", -0.3),
    ("Still waiting for an answer...", -0.5), ("Just recommended you to my sister ❤️", 0.8),
]

MESSAGES_OUT_ZH: list[str] = [
    "亲，您好！很高兴为您服务～", "已为您查询，订单明天发出哦", "非常抱歉给您带来不便，马上为您处理", "这款目前有货，欢迎下单～", "退款已提交，1-3个工作日到账",
    "感谢您的支持，祝您生活愉快🌷",
]

MESSAGES_OUT_EN: list[str] = [
    "Hi! Thanks for reaching out, happy to help.", "Your order ships tomorrow.",
    "Sorry about that — we're sorting it out right now.", "Yes, it's in stock!",
    "Your refund has been issued; allow 3–5 business days.", "Thanks for your support! 🙌",
]

COMMENTS_ZH: list[tuple[str, float]] = [
    ("好看！求链接", 0.6), ("已种草🌱", 0.7), ("价格有点贵", -0.3), ("什么时候补货", 0.0), ("用了一个月，效果明显", 0.8),
    ("包装太好看了", 0.7), ("踩雷了，不推荐", -0.7), ("抽我抽我🙏", 0.4),
]

COMMENTS_EN: list[tuple[str, float]] = [
    ("Need this!", 0.6), ("Where can I buy it?", 0.2), ("Too expensive tbh", -0.3),
    ("Obsessed 😍", 0.9), ("Didn't work for me.", -0.5), ("Restock please!", 0.1),
]

MENTIONS_ZH: list[tuple[str, float]] = [
    ("今天去了门店，体验很棒 @品牌官方", 0.8), ("@品牌官方 的新品真的绝了", 0.9), ("吐槽一下 @品牌官方 的物流，太慢了", -0.6),
    ("和闺蜜一起打卡 @品牌官方 快闪店📸", 0.7),
]

MENTIONS_EN: list[tuple[str, float]] = [
    ("Loving my new set from @brand ✨", 0.8), ("@brand your delivery is so slow", -0.6),
    ("Shoutout to @brand support, super helpful", 0.8), ("Unboxing my @brand order today 📦", 0.5),
]

# (sku, name, unit price in CNY)
PRODUCTS: list[tuple[str, str, str]] = [
    ("SK-1001", "氨基酸洁面乳 Amino Cleanser", "89.00"), ("SK-1002", "玻尿酸精华 HA Serum", "299.00"),
    ("SK-1003", "修护面霜 Repair Cream", "459.00"), ("SK-1004", "防晒乳 SPF50 Sunscreen", "168.00"),
    ("SK-1005", "面膜10片装 Sheet Masks x10", "129.00"), ("SK-1006", "眼霜 Eye Cream", "399.00"),
    ("MU-2001", "丝绒口红 Velvet Lipstick", "239.00"),
    ("MU-2002", "气垫粉底 Cushion Foundation", "329.00"),
    ("MU-2003", "眼影盘 Eyeshadow Palette", "369.00"), ("MU-2004", "睫毛膏 Mascara", "159.00"),
    ("FR-3001", "香水50ml Eau de Parfum 50ml", "899.00"),
    ("FR-3002", "香水旅行装 Travel Spray", "299.00"), ("FR-3003", "香薰蜡烛 Scented Candle", "329.00"),
    ("BD-4001", "身体乳 Body Lotion", "139.00"), ("BD-4002", "护手霜 Hand Cream", "69.00"),
    ("BD-4003", "沐浴露 Shower Gel", "99.00"), ("GF-5001", "节日礼盒 Holiday Gift Set", "1299.00"),
    ("GF-5002", "明星套装 Bestseller Kit", "699.00"),
    ("GF-5003", "限量珍藏礼盒 Limited Collector Box", "2999.00"),
    ("AC-6001", "化妆刷套装 Brush Set", "259.00"), ("AC-6002", "化妆包 Pouch", "49.00"),
    ("SM-7001", "小样套装 Sample Kit", "19.90"),
]

STORES: list[str] = [
    "上海南京西路店", "上海环球港店", "北京三里屯店", "北京国贸店", "广州天河城店", "深圳万象城店", "杭州湖滨银泰店", "成都太古里店",
    "Hong Kong IFC", "Singapore ION Orchard",
]

ONLINE_STORES: dict[str, str] = {
    "wechat": "微信小程序商城", "web": "Official web store",
}

TAGS: list[tuple[str, str]] = [
    ("VIP", "#b45309"), ("高价值", "#dc2626"), ("新客", "#16a34a"), ("KOL", "#7c3aed"),
    ("Newsletter", "#2563eb"), ("投诉过", "#991b1b"), ("Wholesale", "#0f766e"), ("生日月", "#db2777"),
    ("Sample seeker", "#64748b"), ("门店常客", "#ca8a04"), ("Influencer", "#9333ea"),
    ("沉睡客户", "#475569"),
]

# (key, label, type, choices)
ATTRIBUTES: list[tuple[str, str, str, list[str]]] = [
    ("vip_level", "VIP level", "choice", ["bronze", "silver", "gold", "platinum"]),
    ("skin_type", "Skin type", "choice", ["dry", "oily", "combination", "sensitive", "normal"]),
    ("favorite_category", "Favourite category", "choice", ["skincare", "makeup", "fragrance", "body"]),
    ("newsletter", "Newsletter subscriber", "bool", []),
]

CAMPAIGNS = 24

POSTS = 60

POLLS = 6
# fmt: on
