// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text.Json;
using Google.Protobuf;
using HyperDbgRemote.Protocol.Messages;

namespace HyperDbgRemote.Commands;

/// <summary>
/// Where the debugger prints: plain text for people, or (<c>--json</c>) one JSON object per line for scripts — one
/// per command result and one per notification.
/// </summary>
internal sealed class HostOutput
{
    private static readonly JsonFormatter s_protoJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));
    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly object _gate = new();
    private readonly TextWriter _out;
    private readonly TextWriter _error;

    public HostOutput(TextWriter output, TextWriter error, bool json)
    {
        _out = output;
        _error = error;
        Json = json;
    }

    public bool Json { get; }

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

            _error.WriteLine(text);
            _error.Flush();
        }
    }

    private System.Text.StringBuilder? _pending;
    private string? _pendingError;

    /// <summary>Starts collecting a command's output (JSON mode).</summary>
    public void BeginCommand()
    {
        lock (_gate)
        {
            _pending = new System.Text.StringBuilder();
            _pendingError = null;
        }
    }

    /// <summary>Ends a command: in JSON mode prints {"command", "ok", "output", "error"}.</summary>
    public void EndCommand(string command, bool ok)
    {
        lock (_gate)
        {
            if (Json)
            {
                _out.WriteLine(JsonSerializer.Serialize(new { Command = command, Ok = ok, Output = _pending?.ToString() ?? string.Empty, Error = _pendingError }, s_json));
                _out.Flush();
            }

            _pending = null;
            _pendingError = null;
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
                _out.Write(text);
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
