package dev.internvl.mesh.gateway.conversation;

import org.sqlite.SQLiteConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Conversations in one SQLite file, for a single gateway.
 *
 * <p>Why SQLite (through xerial's sqlite-jdbc, which bundles the native library for the usual platforms): its
 * atomic commit is the most exercised crash-safety design among embedded databases, and the whole store is one
 * file an operator can copy or inspect with the {@code sqlite3} shell. It runs in WAL mode with
 * {@code synchronous=FULL}: every commit is fsynced to the write-ahead log before the call returns, so an
 * acknowledged write survives not only kill -9 (which {@code NORMAL} would already cover) but also a power loss.
 * The price, one fsync per write, is small next to the seconds a turn takes to generate.
 *
 * <p>Concurrency: SQLite allows one writer at a time, so writes go through a single connection behind a lock;
 * reads use a small pool of read-only connections that, thanks to WAL, see the last commit without waiting for a
 * writer. Only one process may use the file at a time.
 */
public final class EmbeddedConversationStore implements ConversationStore {
    private static final int SCHEMA_VERSION = 1;
    private static final int READERS = 4;
    /** Keeps the WAL from staying as large as the biggest image batch once it has been checkpointed. */
    private static final int WAL_SIZE_LIMIT = 64 << 20;

    private final ImagePolicy policy;
    private final Connection writer;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final BlockingQueue<Connection> readers = new ArrayBlockingQueue<>(READERS);

    /** Opens the database at {@code file}, creating it, its parent directories and the schema if needed. */
    public EmbeddedConversationStore(Path file, ImagePolicy policy) {
        this.policy = policy;
        String url = "jdbc:sqlite:" + file.toAbsolutePath();
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            writer = config(false).createConnection(url);
            writer.setAutoCommit(false);
            migrate(writer, file);
            for (int i = 0; i < READERS; i++) {
                Connection reader = config(true).createConnection(url);
                reader.setAutoCommit(false); // so that one read sees one snapshot
                readers.add(reader);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the directory of conversation database " + file, e);
        } catch (SQLException e) {
            close();
            throw new IllegalStateException("cannot open conversation database " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static SQLiteConfig config(boolean readOnly) {
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        config.setJournalSizeLimit(WAL_SIZE_LIMIT);
        config.setBusyTimeout(10_000);
        config.setReadOnly(readOnly);
        return config;
    }

    private static void migrate(Connection db, Path file) throws SQLException {
        try (Statement st = db.createStatement()) {
            int version;
            try (ResultSet rs = st.executeQuery("PRAGMA user_version")) {
                version = rs.next() ? rs.getInt(1) : 0;
            }
            if (version == SCHEMA_VERSION) {
                return;
            }
            if (version != 0) {
                throw new IllegalStateException("conversation database " + file + " has schema version " + version
                        + "; this gateway knows version " + SCHEMA_VERSION + " (was it written by a newer gateway?)");
            }
            st.executeUpdate("""
                    CREATE TABLE conversations (
                      id TEXT PRIMARY KEY,
                      created_at INTEGER NOT NULL,
                      system_message TEXT,
                      metadata TEXT NOT NULL,
                      turn_count INTEGER NOT NULL,
                      image_bytes INTEGER NOT NULL)""");
            st.executeUpdate("CREATE INDEX conversations_newest_first ON conversations (created_at DESC, id)");
            st.executeUpdate("""
                    CREATE TABLE turns (
                      conversation_id TEXT NOT NULL,
                      position INTEGER NOT NULL,
                      created_at INTEGER NOT NULL,
                      user_content TEXT NOT NULL,
                      assistant TEXT NOT NULL,
                      prompt_tokens INTEGER NOT NULL,
                      completion_tokens INTEGER NOT NULL,
                      PRIMARY KEY (conversation_id, position)) WITHOUT ROWID""");
            // refs counts the conversations that reference an image; unreferenced_since is set while it is 0.
            st.executeUpdate("""
                    CREATE TABLE images (
                      sha256 TEXT PRIMARY KEY,
                      data BLOB NOT NULL,
                      size INTEGER NOT NULL,
                      refs INTEGER NOT NULL,
                      unreferenced_since INTEGER)""");
            st.executeUpdate("CREATE INDEX images_unreferenced ON images (unreferenced_since) WHERE refs = 0");
            st.executeUpdate("""
                    CREATE TABLE conversation_images (
                      conversation_id TEXT NOT NULL,
                      sha256 TEXT NOT NULL,
                      PRIMARY KEY (conversation_id, sha256)) WITHOUT ROWID""");
            st.executeUpdate("PRAGMA user_version = " + SCHEMA_VERSION);
        }
        db.commit();
    }

    @Override
    public Conversation create(Optional<String> systemMessage, Map<String, String> metadata) {
        Conversation conversation = new Conversation(Ids.newConversationId(), Instant.now(), systemMessage, metadata, List.of());
        write(db -> {
            try (PreparedStatement st = db.prepareStatement(
                    "INSERT INTO conversations (id, created_at, system_message, metadata, turn_count, image_bytes) VALUES (?, ?, ?, ?, 0, 0)")) {
                st.setString(1, conversation.id());
                st.setLong(2, conversation.createdAt().toEpochMilli());
                st.setString(3, systemMessage.orElse(null));
                st.setString(4, StoredJson.metadata(conversation.metadata()));
                st.executeUpdate();
            }
            return null;
        });
        return conversation;
    }

    @Override
    public Optional<Conversation> get(String id) {
        if (!Ids.isConversationId(id)) {
            return Optional.empty();
        }
        return read(db -> {
            ConversationSummary summary;
            try (PreparedStatement st = db.prepareStatement(
                    "SELECT id, created_at, system_message, metadata, turn_count FROM conversations WHERE id = ?")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    summary = summary(rs);
                }
            }
            List<Turn> turns = new ArrayList<>(summary.turnCount());
            try (PreparedStatement st = db.prepareStatement("""
                    SELECT created_at, user_content, assistant, prompt_tokens, completion_tokens
                    FROM turns WHERE conversation_id = ? ORDER BY position""")) {
                st.setString(1, id);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        turns.add(new Turn(StoredJson.user(rs.getString(2)), rs.getString(3),
                                Instant.ofEpochMilli(rs.getLong(1)), new Turn.Usage(rs.getInt(4), rs.getInt(5))));
                    }
                }
            }
            return Optional.of(new Conversation(id, summary.createdAt(), summary.systemMessage(), summary.metadata(), turns));
        });
    }

    private static ConversationSummary summary(ResultSet rs) throws SQLException {
        return new ConversationSummary(rs.getString(1), Instant.ofEpochMilli(rs.getLong(2)),
                Optional.ofNullable(rs.getString(3)), StoredJson.metadata(rs.getString(4)), rs.getInt(5));
    }

    @Override
    public ConversationPage list(int limit, Optional<String> cursor) {
        ListCursor.checkLimit(limit);
        Optional<ListCursor> after = cursor.map(ListCursor::decode);
        return read(db -> {
            String sql = "SELECT id, created_at, system_message, metadata, turn_count FROM conversations "
                    // The first condition alone bounds the index range; the second skips the cursor's own millisecond.
                    + (after.isPresent() ? "WHERE created_at <= ? AND (created_at < ? OR id > ?) " : "")
                    + "ORDER BY created_at DESC, id LIMIT ?";
            List<ConversationSummary> page = new ArrayList<>();
            try (PreparedStatement st = db.prepareStatement(sql)) {
                int i = 1;
                if (after.isPresent()) {
                    st.setLong(i++, after.get().createdMillis());
                    st.setLong(i++, after.get().createdMillis());
                    st.setString(i++, after.get().id());
                }
                st.setInt(i, limit + 1); // one more tells whether there is a next page
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        page.add(summary(rs));
                    }
                }
            }
            return ListCursor.page(page, limit);
        });
    }

    @Override
    public boolean delete(String id) {
        if (!Ids.isConversationId(id)) {
            return false;
        }
        long now = System.currentTimeMillis();
        return write(db -> {
            try (PreparedStatement st = db.prepareStatement("DELETE FROM conversations WHERE id = ?")) {
                st.setString(1, id);
                if (st.executeUpdate() == 0) {
                    return false;
                }
            }
            // Release the images: the one that drops to no references starts its time to live now.
            try (PreparedStatement st = db.prepareStatement("""
                    UPDATE images SET refs = refs - 1, unreferenced_since = CASE WHEN refs = 1 THEN ? END
                    WHERE sha256 IN (SELECT sha256 FROM conversation_images WHERE conversation_id = ?)""")) {
                st.setLong(1, now);
                st.setString(2, id);
                st.executeUpdate();
            }
            for (String table : List.of("conversation_images", "turns")) {
                try (PreparedStatement st = db.prepareStatement("DELETE FROM " + table + " WHERE conversation_id = ?")) {
                    st.setString(1, id);
                    st.executeUpdate();
                }
            }
            removeExpiredImages(db, now);
            return true;
        });
    }

    @Override
    public int appendTurn(String conversationId, int expectedTurnCount, Turn turn) {
        if (expectedTurnCount < 0) {
            throw new IllegalArgumentException("expectedTurnCount cannot be negative: " + expectedTurnCount);
        }
        if (!Ids.isConversationId(conversationId)) {
            throw new ConversationNotFoundException(conversationId);
        }
        String user = StoredJson.user(turn.user());
        long cutoff = System.currentTimeMillis() - policy.unreferencedTtl().toMillis();
        return write(db -> {
            long imageBytes;
            try (PreparedStatement st = db.prepareStatement("SELECT turn_count, image_bytes FROM conversations WHERE id = ?")) {
                st.setString(1, conversationId);
                try (ResultSet rs = st.executeQuery()) {
                    if (!rs.next()) {
                        throw new ConversationNotFoundException(conversationId);
                    }
                    if (rs.getInt(1) != expectedTurnCount) {
                        throw new ConversationConflictException(conversationId, expectedTurnCount, rs.getInt(1));
                    }
                    imageBytes = rs.getLong(2);
                }
            }
            List<String> added = new ArrayList<>();
            for (String hash : turn.imageHashes()) {
                if (holds(db, conversationId, hash)) {
                    continue; // counted once per conversation
                }
                try (PreparedStatement st = db.prepareStatement(
                        "SELECT size FROM images WHERE sha256 = ? AND (refs > 0 OR unreferenced_since > ?)")) {
                    st.setString(1, hash);
                    st.setLong(2, cutoff);
                    try (ResultSet rs = st.executeQuery()) {
                        if (!rs.next()) {
                            throw new ImageNotFoundException(hash);
                        }
                        imageBytes += rs.getLong(1);
                    }
                }
                added.add(hash);
            }
            if (imageBytes > policy.maxConversationImageBytes()) {
                throw ImageTooLargeException.conversation(conversationId, imageBytes, policy.maxConversationImageBytes());
            }
            for (String hash : added) {
                try (PreparedStatement st = db.prepareStatement(
                        "INSERT INTO conversation_images (conversation_id, sha256) VALUES (?, ?)")) {
                    st.setString(1, conversationId);
                    st.setString(2, hash);
                    st.executeUpdate();
                }
                try (PreparedStatement st = db.prepareStatement(
                        "UPDATE images SET refs = refs + 1, unreferenced_since = NULL WHERE sha256 = ?")) {
                    st.setString(1, hash);
                    st.executeUpdate();
                }
            }
            try (PreparedStatement st = db.prepareStatement("""
                    INSERT INTO turns (conversation_id, position, created_at, user_content, assistant, prompt_tokens, completion_tokens)
                    VALUES (?, ?, ?, ?, ?, ?, ?)""")) {
                st.setString(1, conversationId);
                st.setInt(2, expectedTurnCount);
                st.setLong(3, turn.createdAt().toEpochMilli());
                st.setString(4, user);
                st.setString(5, turn.assistant());
                st.setInt(6, turn.usage().promptTokens());
                st.setInt(7, turn.usage().completionTokens());
                st.executeUpdate();
            }
            try (PreparedStatement st = db.prepareStatement(
                    "UPDATE conversations SET turn_count = turn_count + 1, image_bytes = ? WHERE id = ?")) {
                st.setLong(1, imageBytes);
                st.setString(2, conversationId);
                st.executeUpdate();
            }
            return expectedTurnCount + 1;
        });
    }

    private static boolean holds(Connection db, String conversationId, String hash) throws SQLException {
        try (PreparedStatement st = db.prepareStatement(
                "SELECT 1 FROM conversation_images WHERE conversation_id = ? AND sha256 = ?")) {
            st.setString(1, conversationId);
            st.setString(2, hash);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }

    @Override
    public String putImage(byte[] bytes) {
        if (bytes.length > policy.maxImageBytes()) {
            throw ImageTooLargeException.image(bytes.length, policy.maxImageBytes());
        }
        String hash = Ids.sha256(bytes);
        long now = System.currentTimeMillis();
        write(db -> {
            // A new image starts unreferenced; storing a known unreferenced one again restarts its time to live.
            try (PreparedStatement st = db.prepareStatement("""
                    INSERT INTO images (sha256, data, size, refs, unreferenced_since) VALUES (?, ?, ?, 0, ?)
                    ON CONFLICT (sha256) DO UPDATE SET unreferenced_since = CASE WHEN refs = 0 THEN excluded.unreferenced_since END""")) {
                st.setString(1, hash);
                st.setBytes(2, bytes);
                st.setLong(3, bytes.length);
                st.setLong(4, now);
                st.executeUpdate();
            }
            removeExpiredImages(db, now);
            return null;
        });
        return hash;
    }

    /** Expired images are already invisible to reads; this reclaims their space, on every put and delete. */
    private void removeExpiredImages(Connection db, long now) throws SQLException {
        try (PreparedStatement st = db.prepareStatement("DELETE FROM images WHERE refs = 0 AND unreferenced_since <= ?")) {
            st.setLong(1, now - policy.unreferencedTtl().toMillis());
            st.executeUpdate();
        }
    }

    @Override
    public Optional<byte[]> getImage(String sha256) {
        if (!Ids.isSha256(sha256)) {
            return Optional.empty();
        }
        long cutoff = System.currentTimeMillis() - policy.unreferencedTtl().toMillis();
        return read(db -> {
            try (PreparedStatement st = db.prepareStatement(
                    "SELECT data FROM images WHERE sha256 = ? AND (refs > 0 OR unreferenced_since > ?)")) {
                st.setString(1, sha256);
                st.setLong(2, cutoff);
                try (ResultSet rs = st.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public void close() {
        for (Connection reader; (reader = readers.poll()) != null; ) {
            closeQuietly(reader);
        }
        if (writer != null) {
            writeLock.lock();
            try {
                closeQuietly(writer);
            } finally {
                writeLock.unlock();
            }
        }
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (SQLException e) {
            // closing; nothing is left to do with it
        }
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection db) throws SQLException;
    }

    /** Runs {@code work} as one transaction on the writer; any exception rolls it back. */
    private <T> T write(Work<T> work) {
        writeLock.lock();
        try {
            return inTransaction(writer, work);
        } finally {
            writeLock.unlock();
        }
    }

    /** Runs {@code work} on a pooled read-only connection, in one read transaction so it sees one snapshot. */
    private <T> T read(Work<T> work) {
        Connection db;
        try {
            db = readers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException(e);
        }
        try {
            return inTransaction(db, work);
        } finally {
            readers.add(db);
        }
    }

    private static <T> T inTransaction(Connection db, Work<T> work) {
        try {
            T result = work.run(db);
            db.commit();
            return result;
        } catch (SQLException e) {
            rollback(db, e);
            throw new StoreUnavailableException(e);
        } catch (RuntimeException e) {
            rollback(db, e);
            throw e;
        }
    }

    private static void rollback(Connection db, Exception cause) {
        try {
            db.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }
}
