// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.
using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using HyperDbgRemote.Protocol.Messages;
using HyperDbgRemote.Protocol.Tests.Support;

namespace HyperDbgRemote.Protocol.Tests;

/// <summary>
/// docs/protocol/serial.md against the code, beyond the constants (ProtocolConstantsTests): every message, field,
/// status and enum value its sequence diagrams name exists in protos/hyperdbg.proto (a notification the agent cannot
/// send, like the removed <c>event_triggered</c>, fails here); the frame-type table is <see cref="FrameType"/>; the
/// break-in byte of the prose is <see cref="ProtocolConstants.BreakInByte"/>.
/// </summary>
public sealed partial class SerialDocumentMessagesTests
{
    private const string DocPath = "docs/protocol/serial.md";

    private static string[] DocumentLines()
    {
        string? root = RepositoryPaths.FindRoot();
        if (root is null)
        {
            Assert.Ignore("skipped: repository root not found");
        }

        return File.ReadAllLines(Path.Combine(root!, DocPath));
    }

    /// <summary>Each <c>HostToAgent{...}</c> / <c>AgentToHost{...}</c> in the diagrams, with its line.</summary>
    private static IEnumerable<TestCaseData> DiagramMessages()
    {
        string? root = RepositoryPaths.FindRoot();
        if (root is null)
        {
            yield break;
        }

        string[] lines = File.ReadAllLines(Path.Combine(root, DocPath));
        for (int i = 0; i < lines.Length; i++)
        {
            foreach (Match m in Envelope().Matches(lines[i]))
            {
                int end = MatchingBrace(lines[i], m.Index + m.Length - 1);
                string text = lines[i][m.Index..(end + 1)];
                yield return new TestCaseData(text).SetArgDisplayNames($"{DocPath}:{i + 1}");
            }
        }
    }

    [Test]
    public void Document_HasDiagramMessages() =>
        Assert.That(DiagramMessages().Count(), Is.GreaterThanOrEqualTo(8), "the sequence diagrams are parsed");

    [TestCaseSource(nameof(DiagramMessages))]
    public void Document_DiagramMessage_NamesOnlyWhatTheProtoDefines(string text)
    {
        int open = text.IndexOf('{', StringComparison.Ordinal);
        MessageDescriptor envelope = text[..open] == "HostToAgent" ? HostToAgent.Descriptor : AgentToHost.Descriptor;
        var errors = new List<string>();
        Check(envelope, text[(open + 1)..^1], errors);
        Assert.That(errors, Is.Empty, text);
    }

    [Test]
    public void Document_StatusNames_AreStatusValues()
    {
        var names = DocumentLines().SelectMany(l => StatusName().Matches(l)).Select(m => m.Value).Distinct().ToList();
        Assert.That(names, Does.Contain("STATUS_ALREADY_HALTED"));
        EnumDescriptor status = HostToAgent.Descriptor.File.EnumTypes.Single(e => e.Name == "Status");
        var values = status.Values.Select(v => v.Name).ToHashSet();
        Assert.That(names.Where(n => !values.Contains(n)), Is.Empty, "statuses the document names that the proto lacks");
    }

    [Test]
    public void Document_FrameTypesTable_EqualsFrameType()
    {
        string[] lines = DocumentLines();
        int start = Array.IndexOf(lines, "### Frame types");
        Assert.That(start, Is.GreaterThan(0));
        var documented = new Dictionary<string, int>(StringComparer.Ordinal);
        int first = Array.FindIndex(lines, start, l => l.StartsWith('|'));
        for (int i = first + 2; i < lines.Length && lines[i].StartsWith('|'); i++)
        {
            string[] cells = lines[i].Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            documented[cells[1]] = int.Parse(cells[0], CultureInfo.InvariantCulture);
        }

        var code = Enum.GetValues<FrameType>().Where(t => t != FrameType.None).ToDictionary(t => t.ToString().ToUpperInvariant(), t => (int)t, StringComparer.Ordinal);
        Assert.That(documented, Is.EquivalentTo(code));
    }

    [Test]
    public void Document_BreakInByte_IsTheCodes()
    {
        string text = string.Join('\n', DocumentLines());
        Match m = Regex.Match(text, @"writing the single byte \*\*`([0-9A-F]{2})`\*\*");
        Assert.That(m.Success, Is.True, "the break-in paragraph names its byte");
        Assert.That(Convert.ToByte(m.Groups[1].Value, 16), Is.EqualTo(ProtocolConstants.BreakInByte));
        Assert.That(text, Does.Contain($"|-- {ProtocolConstants.BreakInByte:X2} (between frames)"), "the break-in diagram");
    }

    /// <summary>Checks a comma-separated list of items of <paramref name="message"/>: <c>field{...}</c>,
    /// <c>field value</c>, <c>field</c>, <c>id N</c> (request_id), <c>STATUS_X</c> (the status field).</summary>
    private static void Check(MessageDescriptor message, string body, List<string> errors)
    {
        foreach (string raw in SplitItems(body))
        {
            string item = raw.Trim();
            if (item.Length == 0)
            {
                continue;
            }

            int brace = item.IndexOf('{', StringComparison.Ordinal);
            if (brace > 0 && item.EndsWith('}') && IsIdentifier(item[..brace]))
            {
                string name = item[..brace];
                FieldDescriptor? field = message.FindFieldByName(name);
                if (field is null || field.FieldType != FieldType.Message)
                {
                    errors.Add($"{message.Name} has no message field '{name}'");
                    continue;
                }

                Check(field.MessageType, item[(brace + 1)..^1], errors);
                continue;
            }

            if (item.StartsWith("STATUS_", StringComparison.Ordinal))
            {
                FieldDescriptor? status = message.FindFieldByName("status");
                if (status is null || status.EnumType.FindValueByName(item) is null)
                {
                    errors.Add($"{message.Name} has no status {item}");
                }

                continue;
            }

            string[] parts = item.Split(' ', 2);
            string fieldName = parts[0] == "id" ? "request_id" : parts[0];
            FieldDescriptor? f = message.FindFieldByName(fieldName);
            if (f is null)
            {
                errors.Add($"{message.Name} has no field '{fieldName}'");
                continue;
            }

            if (f.FieldType == FieldType.Enum && parts.Length == 2)
            {
                string value = parts[1];
                string prefixed = ToUpperSnake(f.EnumType.Name) + "_" + value;
                if (f.EnumType.FindValueByName(value) is null && f.EnumType.FindValueByName(prefixed) is null)
                {
                    errors.Add($"{f.EnumType.Name} has no value {value}");
                }
            }
        }
    }

    private static IEnumerable<string> SplitItems(string body)
    {
        int depth = 0;
        bool quoted = false;
        int start = 0;
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c is '{' or '[')
            {
                depth++;
            }
            else if (!quoted && c is '}' or ']')
            {
                depth--;
            }
            else if (!quoted && depth == 0 && c == ',')
            {
                yield return body[start..i];
                start = i + 1;
            }
        }

        yield return body[start..];
    }

    private static int MatchingBrace(string line, int open)
    {
        int depth = 0;
        for (int i = open; i < line.Length; i++)
        {
            depth += line[i] switch { '{' => 1, '}' => -1, _ => 0 };
            if (depth == 0)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"unbalanced braces: {line}");
    }

    private static bool IsIdentifier(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static string ToUpperSnake(string pascal) => Regex.Replace(pascal, "(?<=[a-z0-9])([A-Z])", "_$1").ToUpperInvariant();

    [GeneratedRegex(@"(HostToAgent|AgentToHost)\{")]
    private static partial Regex Envelope();

    [GeneratedRegex(@"STATUS_[A-Z_]+")]
    private static partial Regex StatusName();
}
