package dev.internvl.mesh.gateway.conversation;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Conversations in Redis, shared by any number of gateways that use the same server and key prefix.
 *
 * <p>Every operation that touches more than one key is a Lua script, so it is atomic on the server: that is what
 * makes an append check the turn count and write in one step, and it is safe on Lettuce's one shared connection,
 * where MULTI/EXEC from concurrent threads would interleave. The scripts derive some key names from the prefix,
 * so the store needs a standalone (or replicated/Sentinel) Redis, not Redis Cluster.
 *
 * <p>Keys, under {@code <prefix>:}
 * <ul>
 *   <li>{@code conv:<id>}: hash of {@code meta} (JSON: created time, system message, metadata), {@code order}
 *       (its member in the index) and {@code imageBytes} (total size of its distinct images)</li>
 *   <li>{@code turns:<id>}: list of turns as JSON, oldest first; its length is the turn count</li>
 *   <li>{@code conv-images:<id>}: set of the image hashes the conversation references</li>
 *   <li>{@code conversations}: the index, a sorted set with every score 0 whose members sort newest first by
 *       value: {@code <Long.MAX_VALUE - created millis, 19 digits>:<id>}</li>
 *   <li>{@code image:<sha256>}: hash of {@code data}, {@code size} and {@code refs} (conversations referencing
 *       it); it carries a Redis expiry exactly while {@code refs} is 0, which is how {@link ImagePolicy}'s time to
 *       live is kept</li>
 * </ul>
 * Durability is whatever the server is configured for (for example {@code appendonly yes}), and its
 * {@code maxmemory-policy} must not evict these keys: use {@code noeviction} (the default) or a {@code volatile-*}
 * policy, which can only take unreferenced images.
 */
public final class RedisConversationStore implements ConversationStore {
    private static final String CREATE = """
            redis.call('HSET', KEYS[1], 'meta', ARGV[1], 'order', ARGV[2], 'imageBytes', 0)
            redis.call('ZADD', KEYS[2], 0, ARGV[2])
            return 1""";

    private static final String GET = """
            local meta = redis.call('HGET', KEYS[1], 'meta')
            if not meta then return {} end
            local result = redis.call('LRANGE', KEYS[2], 0, -1)
            table.insert(result, 1, meta)
            return result""";

    // ARGV: key prefix, lower bound for ZRANGEBYLEX, how many. Returns id, meta, turn count for each.
    private static final String LIST = """
            local result = {}
            for _, member in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, tonumber(ARGV[3]))) do
              local id = string.sub(member, 21)
              result[#result + 1] = id
              result[#result + 1] = redis.call('HGET', ARGV[1] .. ':conv:' .. id, 'meta')
              result[#result + 1] = redis.call('LLEN', ARGV[1] .. ':turns:' .. id)
            end
            return result""";

    // KEYS: conv, turns, conv-images, index. ARGV: image key prefix, time to live of unreferenced images (ms).
    private static final String DELETE = """
            local order = redis.call('HGET', KEYS[1], 'order')
            if not order then return 0 end
            redis.call('ZREM', KEYS[4], order)
            for _, hash in ipairs(redis.call('SMEMBERS', KEYS[3])) do
              local image = ARGV[1] .. hash
              if redis.call('EXISTS', image) == 1 and redis.call('HINCRBY', image, 'refs', -1) <= 0 then
                redis.call('PEXPIRE', image, ARGV[2])
              end
            end
            redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
            return 1""";

    // KEYS: conv, turns, conv-images, then one image key per hash. ARGV: expected turn count, turn JSON,
    // conversation image limit, then the hashes (ARGV[i] is the hash of KEYS[i] from 4 on).
    private static final String APPEND = """
            if redis.call('EXISTS', KEYS[1]) == 0 then return {'not_found'} end
            local count = redis.call('LLEN', KEYS[2])
            if count ~= tonumber(ARGV[1]) then return {'conflict', count} end
            local total = tonumber(redis.call('HGET', KEYS[1], 'imageBytes'))
            local added = {}
            for i = 4, #KEYS do
              if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 then
                local size = redis.call('HGET', KEYS[i], 'size')
                if not size then return {'no_image', ARGV[i]} end
                total = total + tonumber(size)
                added[#added + 1] = i
              end
            end
            if total > tonumber(ARGV[3]) then return {'too_large', total} end
            for _, i in ipairs(added) do
              redis.call('SADD', KEYS[3], ARGV[i])
              redis.call('HINCRBY', KEYS[i], 'refs', 1)
              redis.call('PERSIST', KEYS[i])
            end
            redis.call('HSET', KEYS[1], 'imageBytes', total)
            return {'ok', redis.call('RPUSH', KEYS[2], ARGV[2])}""";

    // KEYS: image. ARGV: data, size, time to live (ms). A stored image only gets its expiry renewed if unreferenced.
    private static final String PUT_IMAGE = """
            if redis.call('EXISTS', KEYS[1]) == 1 then
              if tonumber(redis.call('HGET', KEYS[1], 'refs')) <= 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
              return 0
            end
            redis.call('HSET', KEYS[1], 'data', ARGV[1], 'size', ARGV[2], 'refs', 0)
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return 1""";

    private final String prefix;
    private final ImagePolicy policy;
    private final RedisClient client;
    private final StatefulRedisConnection<String, byte[]> connection;
    private final RedisCommands<String, byte[]> redis;

    /**
     * Connects to Redis, failing at once if it cannot be reached; later outages are reconnected automatically.
     *
     * @param redisUri  e.g. {@code redis://host:6379/0} or {@code rediss://:password@host:6380}; Lettuce's URI
     *                  syntax, including {@code ?timeout=5s}
     * @param keyPrefix namespace of every key; gateways sharing conversations must use the same one
     */
    public RedisConversationStore(String redisUri, String keyPrefix, ImagePolicy policy) {
        if (keyPrefix.isBlank()) {
            throw new IllegalArgumentException("the Redis key prefix cannot be blank");
        }
        this.prefix = keyPrefix;
        this.policy = policy;
        RedisURI uri = RedisURI.create(redisUri);
        this.client = RedisClient.create(uri);
        try {
            this.connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
        } catch (RedisException e) {
            client.shutdown();
            throw new IllegalStateException("cannot connect to Redis at " + uri + ": " + e.getMessage(), e);
        }
        this.redis = connection.sync();
    }

    private String conversationKey(String id) {
        return prefix + ":conv:" + id;
    }

    private String turnsKey(String id) {
        return prefix + ":turns:" + id;
    }

    private String imagesOfKey(String id) {
        return prefix + ":conv-images:" + id;
    }

    private String indexKey() {
        return prefix + ":conversations";
    }

    private String imagePrefix() {
        return prefix + ":image:";
    }

    private static String indexMember(ListCursor position) {
        return String.format("%019d:%s", Long.MAX_VALUE - position.createdMillis(), position.id());
    }

    @Override
    public Conversation create(Optional<String> systemMessage, Map<String, String> metadata) {
        Conversation c = new Conversation(Ids.newConversationId(), Instant.now(), systemMessage, metadata, List.of());
        String meta = StoredJson.header(new StoredJson.Header(c.createdAt(), c.systemMessage(), c.metadata()));
        String member = indexMember(new ListCursor(c.createdAt().toEpochMilli(), c.id()));
        call(() -> redis.eval(CREATE, ScriptOutputType.INTEGER, new String[] {conversationKey(c.id()), indexKey()},
                utf8(meta), utf8(member)));
        return c;
    }

    @Override
    public Optional<Conversation> get(String id) {
        if (!Ids.isConversationId(id)) {
            return Optional.empty();
        }
        List<Object> result = call(() -> redis.eval(GET, ScriptOutputType.MULTI,
                new String[] {conversationKey(id), turnsKey(id)}));
        if (result.isEmpty()) {
            return Optional.empty();
        }
        StoredJson.Header h = StoredJson.header(text(result.getFirst()));
        List<Turn> turns = result.subList(1, result.size()).stream().map(t -> StoredJson.turn(text(t))).toList();
        return Optional.of(new Conversation(id, h.createdAt(), h.systemMessage(), h.metadata(), turns));
    }

    @Override
    public ConversationPage list(int limit, Optional<String> cursor) {
        ListCursor.checkLimit(limit);
        String from = cursor.map(ListCursor::decode).map(c -> "(" + indexMember(c)).orElse("-");
        List<Object> result = call(() -> redis.eval(LIST, ScriptOutputType.MULTI, new String[] {indexKey()},
                utf8(prefix), utf8(from), utf8(Integer.toString(limit + 1))));
        List<ConversationSummary> fetched = new ArrayList<>(result.size() / 3);
        for (int i = 0; i < result.size(); i += 3) {
            StoredJson.Header h = StoredJson.header(text(result.get(i + 1)));
            fetched.add(new ConversationSummary(text(result.get(i)), h.createdAt(), h.systemMessage(), h.metadata(),
                    Math.toIntExact((Long) result.get(i + 2))));
        }
        return ListCursor.page(fetched, limit);
    }

    @Override
    public boolean delete(String id) {
        if (!Ids.isConversationId(id)) {
            return false;
        }
        long deleted = call(() -> redis.eval(DELETE, ScriptOutputType.INTEGER,
                new String[] {conversationKey(id), turnsKey(id), imagesOfKey(id), indexKey()},
                utf8(imagePrefix()), utf8(Long.toString(policy.unreferencedTtl().toMillis()))));
        return deleted == 1;
    }

    @Override
    public int appendTurn(String conversationId, int expectedTurnCount, Turn turn) {
        if (expectedTurnCount < 0) {
            throw new IllegalArgumentException("expectedTurnCount cannot be negative: " + expectedTurnCount);
        }
        if (!Ids.isConversationId(conversationId)) {
            throw new ConversationNotFoundException(conversationId);
        }
        List<String> hashes = turn.imageHashes();
        List<String> keys = new ArrayList<>(List.of(conversationKey(conversationId), turnsKey(conversationId),
                imagesOfKey(conversationId)));
        List<byte[]> args = new ArrayList<>(List.of(utf8(Integer.toString(expectedTurnCount)), utf8(StoredJson.turn(turn)),
                utf8(Long.toString(policy.maxConversationImageBytes()))));
        for (String hash : hashes) {
            keys.add(imagePrefix() + hash);
            args.add(utf8(hash));
        }
        List<Object> result = call(() -> redis.eval(APPEND, ScriptOutputType.MULTI, keys.toArray(String[]::new),
                args.toArray(byte[][]::new)));
        return switch (text(result.getFirst())) {
            case "ok" -> Math.toIntExact((Long) result.get(1));
            case "not_found" -> throw new ConversationNotFoundException(conversationId);
            case "conflict" -> throw new ConversationConflictException(conversationId, expectedTurnCount,
                    Math.toIntExact((Long) result.get(1)));
            case "no_image" -> throw new ImageNotFoundException(text(result.get(1)));
            case "too_large" -> throw ImageTooLargeException.conversation(conversationId, (Long) result.get(1),
                    policy.maxConversationImageBytes());
            default -> throw new IllegalStateException("unexpected append result " + text(result.getFirst()));
        };
    }

    @Override
    public String putImage(byte[] bytes) {
        if (bytes.length > policy.maxImageBytes()) {
            throw ImageTooLargeException.image(bytes.length, policy.maxImageBytes());
        }
        String hash = Ids.sha256(bytes);
        call(() -> redis.eval(PUT_IMAGE, ScriptOutputType.INTEGER, new String[] {imagePrefix() + hash},
                bytes, utf8(Integer.toString(bytes.length)), utf8(Long.toString(policy.unreferencedTtl().toMillis()))));
        return hash;
    }

    @Override
    public Optional<byte[]> getImage(String sha256) {
        if (!Ids.isSha256(sha256)) {
            return Optional.empty();
        }
        return Optional.ofNullable(call(() -> redis.hget(imagePrefix() + sha256, "data")));
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }

    private static <T> T call(Supplier<T> command) {
        try {
            return command.get();
        } catch (RedisException e) {
            throw new StoreUnavailableException(e);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Object bulk) {
        return new String((byte[]) bulk, StandardCharsets.UTF_8);
    }
}
