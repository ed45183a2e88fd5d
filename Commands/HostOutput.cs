// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.Json;
using Google.Protobuf;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands;

/// <summary>
/// Where the debugger prints: plain text for people (in colour on a terminal: errors red, breaks yellow, the agent's
/// reports cyan), or (<c>--json</c>) one JSON object per line for scripts — one per command result and one per
/// notification.
/// </summary>
internal sealed class HostOutput
{
    private static readonly JsonFormatter s_protoJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly object _gate = new();
    private readonly TextWriter _out;
    private readonly TextWriter _error;

    public HostOutput(TextWriter output, TextWriter error, bool json, bool colour = false)
    {
        _out = output;
        _error = error;
        Json = json;
        Colour = colour && !json;
    }

    public bool Json { get; }

    /// <summary>ANSI colours on (a terminal, no <c>--json</c>, no <c>NO_COLOR</c>).</summary>
    public bool Colour { get; }

    /// <summary>Whether colour suits this process's console: both streams are terminals, NO_COLOR is unset and TERM
    /// is not "dumb" (https://no-color.org).</summary>
    public static bool ConsoleWantsColour() =>
        !Console.IsOutputRedirected && !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("NO_COLOR") is null
        && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    private const string Red = "\u001b[31m";
    private const string Yellow = "\u001b[33m";
    private const string Cyan = "\u001b[36m";
    private const string Reset = "\u001b[0m";

    private string Paint(string text, string colour) =>
        Colour && text.Length > 0 ? colour + text.TrimEnd('\n') + Reset + text[text.TrimEnd('\n').Length..] : text;

    /// <summary>Text a command prints (collected into its JSON result in JSON mode).</summary>
    public void Text(string text)
    {
        lock (_gate)
        {
            if (Json)
            {
                _pending?.Append(text);
                return;
            }

            _out.Write(text);
            _out.Flush();
        }
    }

    /// <summary>A line of text.</summary>
    public void Line(string text) => Text(text + "\n");

    /// <summary>An error line (stderr in text mode).</summary>
    public void Error(string text)
    {
        lock (_gate)
        {
            if (Json)
            {
                _pendingError = text;
                return;
            }

            _error.WriteLine(Paint(text, Red));
            _error.Flush();
        }
    }

    /// <summary>A warning: the command goes on (stderr in yellow in text mode; a "warnings" list in its JSON result).</summary>
    public void Warning(string text)
    {
        lock (_gate)
        {
            if (Json)
            {
                (_pendingWarnings ??= []).Add(text);
                return;
            }

            _error.WriteLine(Paint(text, Yellow));
            _error.Flush();
        }
    }

    private List<string>? _pendingWarnings;

    /// <summary>A command's JSON result; "warnings" appears only when there are some.</summary>
    private sealed record CommandResult(
        string Command,
        bool Ok,
        string Output,
        string? Error,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] List<string>? Warnings);

    private System.Text.StringBuilder? _pending;
    private string? _pendingError;

    /// <summary>Starts collecting a command's output (JSON mode).</summary>
    public void BeginCommand()
    {
        lock (_gate)
        {
            _pending = new System.Text.StringBuilder();
            _pendingError = null;
            _pendingWarnings = null;
        }
    }

    /// <summary>Ends a command: in JSON mode prints {"command", "ok", "output", "error"}, plus "warnings" when there
    /// were any.</summary>
    public void EndCommand(string command, bool ok)
    {
        lock (_gate)
        {
            if (Json)
            {
                _out.WriteLine(JsonSerializer.Serialize(new CommandResult(command, ok, _pending?.ToString() ?? string.Empty, _pendingError, _pendingWarnings), s_json));
                _out.Flush();
            }

            _pending = null;
            _pendingError = null;
            _pendingWarnings = null;
        }
    }

    /// <summary>A notification: its text form, or {"notification": {...}} in JSON mode.</summary>
    public void Notification(Notification n, string text)
    {
        lock (_gate)
        {
            if (Json)
            {
                _out.WriteLine("{\"notification\":" + s_protoJson.Format(n) + "}");
                _out.Flush();
                return;
            }

            if (text.Length > 0)
            {
                _out.Write(n.BodyCase switch
                {
                    Protocol.Messages.Notification.BodyOneofCase.Halted or Protocol.Messages.Notification.BodyOneofCase.Stopped => Paint(text, Yellow),
                    Protocol.Messages.Notification.BodyOneofCase.Log or Protocol.Messages.Notification.BodyOneofCase.Dropped => Paint(text, Cyan),
                    _ => text,
                });
                _out.Flush();
            }
        }
    }

    /// <summary>The prompt (never in JSON mode).</summary>
    public void Prompt(string prompt)
    {
        if (!Json)
        {
            Text(prompt);
        }
    }
}
